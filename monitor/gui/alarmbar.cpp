// SPDX-License-Identifier: MIT
#include "alarmbar.h"

#include "alarms.h"
#include "format.h"

#include <QtGui/qtextdocument.h>
#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qlabel.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui {

AlarmBar::AlarmBar(QWidget *parent)
    : QFrame(parent)
{
    setFrameShape(QFrame::StyledPanel);
    setObjectName(u"alarmBar"_s);
    setStyleSheet(u"#alarmBar { background: #fdecea; border: 1px solid #e6b0aa; }"_s);
    m_label = new QLabel(this);
    m_label->setTextFormat(Qt::RichText);
    m_label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_label->setWordWrap(false);
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 4, 8, 4);
    layout->addWidget(m_label, 1);
    hide();
}

void AlarmBar::showAlarms(const AlarmTracker &alarms, qint64 now)
{
    QList<Alarm> shown;
    for (const Alarm &a : alarms.alarms()) {
        if (a.isActive() || now - a.clearedAt < ShowClearedMs)
            shown.append(a);
    }
    if (shown.isEmpty()) {
        m_label->clear();
        setToolTip({});
        hide();
        return;
    }
    const auto line = [](const Alarm &a) {
        return a.isActive()
                ? u"<span style='color:#c0392b'><b>⚠ %1</b> since %2</span>"_s.arg(
                          a.text.toHtmlEscaped(), Format::time(a.startedAt))
                : u"<span style='color:gray'>✓ %1 (%2 – %3)</span>"_s.arg(
                          a.text.toHtmlEscaped(), Format::time(a.startedAt),
                          Format::time(a.clearedAt));
    };
    QStringList lines, tip;
    for (const Alarm &a : std::as_const(shown)) {
        if (lines.size() < MaxLines)
            lines.append(line(a));
        if (tip.size() < MaxTooltip)
            tip.append(line(a));
    }
    const int active = alarms.activeCount();
    QString more;
    if (shown.size() > MaxLines)
        more = tr("… and %1 more (%2 active in all)").arg(shown.size() - MaxLines).arg(active);
    if (alarms.suppressed())
        more += (more.isEmpty() ? QString() : u"; "_s)
                + tr("%1 conditions not raised (too many at once)").arg(alarms.suppressed());
    if (!more.isEmpty())
        lines.append(u"<i>"_s + more.toHtmlEscaped() + u"</i>"_s);
    m_label->setText(lines.join(u"<br>"_s));
    setToolTip(tip.join(u"<br>"_s));
    show();
}

QString AlarmBar::text() const
{
    QTextDocument doc;
    doc.setHtml(m_label->text());
    return doc.toPlainText();
}

} // namespace PlexusMonitor::Gui
