// SPDX-License-Identifier: MIT
#include "testhosts.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qdebug.h>
#include <QtCore/qfileinfo.h>
#include <QtCore/qprocess.h>
#include <QtCore/qregularexpression.h>
#include <QtNetwork/qtcpserver.h>
#include <QtNetwork/qudpsocket.h>

#include <unistd.h>

using namespace Qt::StringLiterals;

TestHosts::~TestHosts()
{
    tearDown();
}

bool TestHosts::ip(const QStringList &arguments, QString *output)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(u"ip"_s, arguments);
    if (!p.waitForFinished(15000)) {
        p.kill();
        p.waitForFinished();
        return false;
    }
    const QString text = QString::fromLocal8Bit(p.readAll());
    if (output)
        *output = text;
    if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        qDebug().noquote() << "ip" << arguments.join(u' ') << "failed:" << text.trimmed();
        return false;
    }
    return true;
}

void TestHosts::removeStale()
{
    QString list;
    if (!ip({u"netns"_s, u"list"_s}, &list))
        return;
    // plxb<pid>[x<n>] and plxh<pid>[x<n>]-<k>: the pid of the run that made them.
    static const QRegularExpression name(uR"(^(plx[hb](\d+)\S*))"_s,
                                         QRegularExpression::MultilineOption);
    auto it = name.globalMatch(list);
    while (it.hasNext()) {
        const auto m = it.next();
        const qint64 pid = m.captured(2).toLongLong();
        if (pid == qint64(::getpid()) || QFileInfo::exists(u"/proc/%1"_s.arg(pid)))
            continue;
        ip({u"netns"_s, u"delete"_s, m.captured(1)});
    }
}

quint16 TestHosts::freePort()
{
    for (int i = 0; i < 50; ++i) {
        QTcpServer tcp;
        QUdpSocket udp;
        if (tcp.listen(QHostAddress::LocalHost, 0) && udp.bind(QHostAddress::AnyIPv4, tcp.serverPort()))
            return tcp.serverPort();
    }
    return 0;
}

QString TestHosts::hostNs(int host) const
{
    return u"plxh%1-%2"_s.arg(m_suffix).arg(host);
}

QString TestHosts::bridgeNs() const
{
    return u"plxb%1"_s.arg(m_suffix);
}

bool TestHosts::setUp(int count, bool allowNamespaces)
{
    m_count = count;
    // Several sets of hosts in one process get names of their own.
    static int instances = 0;
    const int instance = instances++;
    m_suffix = instance ? u"%1x%2"_s.arg(::getpid()).arg(instance) : QString::number(::getpid());
    if (!allowNamespaces) {
        m_mode = Mode::Loopback;
        m_reason = u"namespaces not asked for"_s;
        return true;
    }
    if (::geteuid() != 0) {
        m_reason = u"not root: network namespaces need CAP_SYS_ADMIN"_s;
    } else if (!ip({u"-V"_s})) {
        m_reason = u"no ip(8): install iproute2"_s;
    } else {
        removeStale();
        if (createNamespaces()) {
            m_mode = Mode::Namespaces;
            return true;
        }
        m_reason = u"ip netns failed here (see the lines above)"_s;
        tearDown();
    }
    m_mode = Mode::Loopback;
    return true;
}

bool TestHosts::createNamespaces()
{
    m_created = true;
    const QString br = bridgeNs();
    if (!ip({u"netns"_s, u"add"_s, br})
        || !ip({u"-n"_s, br, u"link"_s, u"add"_s, u"br0"_s, u"type"_s, u"bridge"_s})
        || !ip({u"-n"_s, br, u"link"_s, u"set"_s, u"br0"_s, u"up"_s}))
        return false;
    for (int k = 1; k <= m_count; ++k) {
        const QString h = hostNs(k);
        const QString veth = u"vh%1"_s.arg(k);
        if (!ip({u"netns"_s, u"add"_s, h})
            || !ip({u"-n"_s, br, u"link"_s, u"add"_s, veth, u"type"_s, u"veth"_s, u"peer"_s,
                    u"name"_s, u"eth0"_s, u"netns"_s, h})
            || !ip({u"-n"_s, br, u"link"_s, u"set"_s, veth, u"master"_s, u"br0"_s, u"up"_s})
            || !ip({u"-n"_s, h, u"addr"_s, u"add"_s, u"10.77.0.%1/24"_s.arg(k), u"brd"_s, u"+"_s,
                    u"dev"_s, u"eth0"_s})
            || !ip({u"-n"_s, h, u"link"_s, u"set"_s, u"eth0"_s, u"up"_s})
            || !ip({u"-n"_s, h, u"link"_s, u"set"_s, u"lo"_s, u"up"_s}))
            return false;
    }
    return true;
}

void TestHosts::tearDown()
{
    if (!m_created)
        return;
    m_created = false;
    QString list;
    ip({u"netns"_s, u"list"_s}, &list);
    for (int k = 1; k <= m_count; ++k) {
        if (list.contains(hostNs(k)))
            ip({u"netns"_s, u"delete"_s, hostNs(k)});
    }
    if (list.contains(bridgeNs()))
        ip({u"netns"_s, u"delete"_s, bridgeNs()});
}

QString TestHosts::address(int host) const
{
    return m_mode == Mode::Namespaces ? u"10.77.0.%1"_s.arg(host) : u"127.0.0.1"_s;
}

void TestHosts::wrap(int host, const QString &program, const QStringList &arguments,
                     QString *outProgram, QStringList *outArguments) const
{
    if (m_mode == Mode::Loopback) {
        *outProgram = program;
        *outArguments = arguments;
        return;
    }
    // ip netns exec execs the program: the process keeps the pid QProcess reports.
    *outProgram = u"ip"_s;
    *outArguments = QStringList{u"netns"_s, u"exec"_s, hostNs(host), program} + arguments;
}

bool TestHosts::setWire(int host, bool up)
{
    if (m_mode != Mode::Namespaces)
        return false;
    return ip({u"-n"_s, bridgeNs(), u"link"_s, u"set"_s, u"vh%1"_s.arg(host),
               up ? u"up"_s : u"down"_s});
}
