// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qstring.h>
#include <QtCore/qstringlist.h>

/*
    The machines of a multi-host test: Linux network namespaces on a bridge, or loopback.

    With namespaces (root, iproute2), host k (1-based) is the namespace "plxh<pid>-<k>" with
    one interface, eth0 = 10.77.0.<k>/24, whose veth peer "vh<k>" is enslaved to the bridge
    br0 in its own namespace "plxb<pid>". Nothing touches the test machine's own interfaces,
    and deleting the namespaces removes every veth and the bridge. Namespaces left behind by
    a test run that was killed are removed by the next one (their pid is gone).

    Without namespaces every host is 127.0.0.1 and tells its nodes apart by port.
*/
class TestHosts
{
public:
    enum class Mode { Namespaces, Loopback };

    TestHosts() = default;
    ~TestHosts();
    TestHosts(const TestHosts &) = delete;
    TestHosts &operator=(const TestHosts &) = delete;

    // Creates \a count hosts; falls back to loopback (and says why in reason()) when
    // namespaces cannot be made. False only if even that cannot work.
    bool setUp(int count, bool allowNamespaces = true);
    void tearDown();

    Mode mode() const { return m_mode; }
    QString reason() const { return m_reason; }
    int count() const { return m_count; }
    QString address(int host) const;
    // The command that runs \a program with \a arguments on \a host.
    void wrap(int host, const QString &program, const QStringList &arguments,
              QString *outProgram, QStringList *outArguments) const;
    // Cuts (or restores) the wire of \a host at the bridge; namespaces only.
    bool setWire(int host, bool up);

    // Runs "ip <arguments>"; true on exit code 0. Output goes to *output if given.
    static bool ip(const QStringList &arguments, QString *output = nullptr);
    // Deletes namespaces of earlier runs whose process is gone.
    static void removeStale();
    // A port number free for both TCP and UDP on loopback (0 if none was found).
    static quint16 freePort();

private:
    QString hostNs(int host) const;
    QString bridgeNs() const;
    bool createNamespaces();

    Mode m_mode = Mode::Loopback;
    QString m_reason;
    int m_count = 0;
    QString m_suffix;
    bool m_created = false;
};
