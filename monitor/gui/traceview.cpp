// SPDX-License-Identifier: MIT
#include "traceview.h"

#include "emptyoverlay.h"
#include "presentation.h"

#include "clusterstate.h"
#include "modelroles.h"
#include "tracemodel.h"

#include <QtCore/qfileinfo.h>
#include <QtCore/qsavefile.h>
#include <QtCore/qsortfilterproxymodel.h>
#include <QtGui/qpainter.h>
#include <QtWidgets/qcombobox.h>
#include <QtWidgets/qfiledialog.h>
#include <QtWidgets/qheaderview.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qlineedit.h>
#include <QtWidgets/qmessagebox.h>
#include <QtWidgets/qscrollbar.h>
#include <QtWidgets/qtableview.h>
#include <QtWidgets/qtoolbar.h>
#include <QtWidgets/qboxlayout.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui {

/*! Kind and regular-expression filter, and the kind colour as the kind cell's icon. */
class TraceFilterModel : public QSortFilterProxyModel
{
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

    void setKind(int kind)   // -1: all
    {
        m_kind = kind;
        invalidateRowsFilter();
    }

    QVariant data(const QModelIndex &index, int role) const override
    {
        if (role == Qt::DecorationRole && index.column() == TraceModel::KindColumn)
            return icon(index.data(MessageKindRole).toInt());
        return QSortFilterProxyModel::data(index, role);
    }

protected:
    bool filterAcceptsRow(int row, const QModelIndex &parent) const override
    {
        const QModelIndex first = sourceModel()->index(row, 0, parent);
        if (m_kind >= 0 && first.data(MessageKindRole).toInt() != m_kind)
            return false;
        return QSortFilterProxyModel::filterAcceptsRow(row, parent);
    }

private:
    QIcon icon(int kind) const
    {
        QIcon &cached = m_icons[kind];
        if (cached.isNull()) {
            QPixmap pixmap(12, 12);
            pixmap.fill(Qt::transparent);
            QPainter p(&pixmap);
            p.setRenderHint(QPainter::Antialiasing);
            p.setPen(Qt::NoPen);
            p.setBrush(Presentation::kindColor(messageKindName(MessageKind(kind))));
            p.drawRoundedRect(QRectF(1, 1, 10, 10), 2, 2);
            cached = QIcon(pixmap);
        }
        return cached;
    }

    int m_kind = -1;
    mutable QHash<int, QIcon> m_icons;
};

TraceView::TraceView(const ClusterState *state, QWidget *parent)
    : ViewPage(u"trace"_s, tr("Trace"), parent), m_state(state)
{
    m_kind = new QComboBox(toolBar());
    m_kind->addItem(tr("All kinds"), -1);
    for (int k = 0; k < MessageKindCount; ++k) {
        const QString name = messageKindName(MessageKind(k));
        QPixmap swatch(12, 12);
        swatch.fill(Presentation::kindColor(name));
        m_kind->addItem(QIcon(swatch), name, k);
    }
    toolBar()->addWidget(m_kind);
    m_filter = new QLineEdit(toolBar());
    m_filter->setPlaceholderText(tr("Filter (regular expression): 0x0100, ^4242$, broadcast"));
    m_filter->setClearButtonEnabled(true);
    m_filter->setMinimumWidth(260);
    m_filter->setMaximumWidth(360);
    toolBar()->addWidget(m_filter);
    toolBar()->addSeparator();
    m_pause = toolBar()->addAction(QIcon(u":/plexus-monitor/pause.svg"_s), tr("Pause trace"));
    m_pause->setCheckable(true);
    m_pause->setToolTip(tr("Keep the rows as they are; what arrives meanwhile shows on resume"));
    connect(m_pause, &QAction::toggled, this, &TraceView::setTracePaused);
    QAction *clear = toolBar()->addAction(tr("Clear"));
    QAction *exportAction = toolBar()->addAction(QIcon(u":/plexus-monitor/export.svg"_s), tr("Export…"));
    exportAction->setToolTip(tr("Save the trace as CSV or JSON"));
    connect(exportAction, &QAction::triggered, this, &TraceView::exportDialog);
    finishToolBar();
    setRefreshInterval(500);

    m_model = new TraceModel(state, this);
    connect(clear, &QAction::triggered, this, [this] { m_model->clear(); updateSummary(); });
    m_proxy = new TraceFilterModel(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(SortRole);
    m_proxy->setFilterKeyColumn(-1);
    m_view = new QTableView(this);
    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(false);   // arrival order; the time column is that order
    m_view->setAlternatingRowColors(true);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setWordWrap(false);
    m_view->setShowGrid(false);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->horizontalHeader()->setDefaultAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    contentLayout()->addWidget(m_view, 1);
    m_empty = new EmptyOverlay(m_view, QString());
    updateEmptyText();
    m_summary = new QLabel(this);
    m_summary->setForegroundRole(QPalette::PlaceholderText);
    contentLayout()->addWidget(m_summary);

    connect(m_filter, &QLineEdit::textChanged, this, &TraceView::applyFilter);
    connect(m_kind, &QComboBox::currentIndexChanged, this, [this] {
        m_proxy->setKind(m_kind->currentData().toInt());
        updateSummary();
    });
}

void TraceView::setFilter(const QString &pattern)
{
    m_filter->setText(pattern);
}

void TraceView::setKindFilter(int kind)
{
    const int index = m_kind->findData(kind);
    m_kind->setCurrentIndex(index < 0 ? 0 : index);
}

int TraceView::shownRows() const
{
    return m_proxy->rowCount();
}

bool TraceView::isTracePaused() const
{
    return m_model->isPaused();
}

void TraceView::setTracePaused(bool paused)
{
    m_model->setPaused(paused);
    if (m_pause->isChecked() != paused)
        m_pause->setChecked(paused);
    m_pause->setText(paused ? tr("Resume trace") : tr("Pause trace"));
    if (!paused)
        refreshNow();
    updateSummary();
}

void TraceView::applyFilter()
{
    const QRegularExpression re(m_filter->text(), QRegularExpression::CaseInsensitiveOption);
    m_filter->setStyleSheet(re.isValid() ? QString() : u"QLineEdit { border: 1px solid #c0392b; }"_s);
    m_filter->setToolTip(re.isValid() ? QString() : re.errorString());
    if (re.isValid())
        m_proxy->setFilterRegularExpression(re);
    updateSummary();
}

void TraceView::exportDialog()
{
    // open(), not getSaveFileName(): no nested event loop, the client and the views go on.
    const QString title = m_proxy->rowCount() == m_model->rowCount()
            ? tr("Export the trace (%1 rows)").arg(m_proxy->rowCount())
            : tr("Export the %1 rows the filters show (of %2)")
                      .arg(m_proxy->rowCount()).arg(m_model->rowCount());
    auto *dialog = new QFileDialog(this, title, u"plexus-trace.csv"_s,
                                   tr("CSV (*.csv);;JSON (*.json)"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setAcceptMode(QFileDialog::AcceptSave);
    dialog->setFileMode(QFileDialog::AnyFile);
    dialog->setDefaultSuffix(u"csv"_s);
    connect(dialog, &QFileDialog::filterSelected, dialog, [dialog](const QString &filter) {
        dialog->setDefaultSuffix(filter.contains(u"json"_s) ? u"json"_s : u"csv"_s);
    });
    connect(dialog, &QFileDialog::fileSelected, this, [this](const QString &name) {
        if (!name.isEmpty())
            exportTo(name);
    });
    dialog->open();
}

bool TraceView::exportTo(const QString &fileName, bool quiet)
{
    QSaveFile file(fileName);
    const bool json = QFileInfo(fileName).suffix().compare(u"json"_s, Qt::CaseInsensitive) == 0;
    // What the filters show, in the order shown (the proxy does not sort: arrival order).
    QList<int> rows;
    rows.reserve(m_proxy->rowCount());
    for (int r = 0; r < m_proxy->rowCount(); ++r)
        rows.append(m_proxy->mapToSource(m_proxy->index(r, 0)).row());
    bool ok = file.open(QIODevice::WriteOnly);
    if (ok)
        ok = json ? m_model->exportJson(&file, rows) : m_model->exportCsv(&file, rows);
    if (ok)
        ok = file.commit();
    if (!ok && !quiet) {
        // Window-modal but not blocking: open(), not exec() or warning().
        auto *box = new QMessageBox(QMessageBox::Warning, tr("Export failed"),
                                    tr("Could not write %1: %2").arg(fileName, file.errorString()),
                                    QMessageBox::Ok, this);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();
    }
    return ok;
}

void TraceView::updateSummary()
{
    quint64 dropped = 0, gaps = 0, events = 0;
    for (const MachineEntry &m : m_state->machines()) {
        dropped += m.traceDropped;
        gaps += m.traceGaps;
        events += m.traceEvents;
    }
    QString text = tr("%1 of %2 sampled headers shown · %3 messages seen by the masters")
                           .arg(m_proxy->rowCount())
                           .arg(m_model->rowCount())
                           .arg(Presentation::count(double(events)));
    if (dropped || gaps || m_model->missed())
        text += tr(" · %1 batches dropped by masters, %2 missing, %3 rows missed")
                        .arg(dropped).arg(gaps).arg(m_model->missed());
    if (m_model->isPaused())
        text += tr(" · paused");
    m_summary->setText(text);
    updateEmptyText();
}

void TraceView::updateEmptyText()
{
    // Two different empty views: nothing arrived (look at the cluster), or the filters
    // hide every row (look at the filters).
    if (m_model->rowCount() == 0) {
        m_empty->setText(tr("<p><b>No messages traced yet.</b></p><p>Each master samples the "
                            "headers of the messages it routes (never their payload unless it "
                            "allows it) and streams them here. Nothing shows if nobody is "
                            "connected, the cluster is idle, or the master refuses traces.</p>"));
        return;
    }
    QStringList filters;
    if (m_kind->currentData().toInt() >= 0)
        filters.append(tr("kind <b>%1</b>").arg(m_kind->currentText().toHtmlEscaped()));
    if (!m_filter->text().isEmpty())
        filters.append(tr("<b>%1</b>").arg(m_filter->text().toHtmlEscaped()));
    m_empty->setText(tr("<p><b>No row matches the filter.</b></p><p>None of the %1 sampled "
                        "headers traced matches %2. Change or clear the filter to see them.</p>")
                             .arg(m_model->rowCount())
                             .arg(filters.join(tr(" and "))));
}

void TraceView::refreshView()
{
    QScrollBar *bar = m_view->verticalScrollBar();
    const bool atEnd = bar->value() >= bar->maximum() - 2;
    m_model->refresh();
    if (!m_sized && m_model->rowCount() > 0) {
        m_view->resizeColumnsToContents();
        for (int c = 0; c < m_model->columnCount(); ++c)
            m_view->setColumnWidth(c, m_view->columnWidth(c) + 16);
        m_sized = true;
    }
    if (atEnd && !m_model->isPaused())
        m_view->scrollToBottom();
    updateSummary();
}

} // namespace PlexusMonitor::Gui
