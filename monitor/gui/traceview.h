// SPDX-License-Identifier: MIT
#pragma once

#include "viewpage.h"

QT_BEGIN_NAMESPACE
class QAction;
class QComboBox;
class QLabel;
class QLineEdit;
class QTableView;
QT_END_NAMESPACE

namespace PlexusMonitor {
class ClusterState;
class TraceModel;
}

namespace PlexusMonitor::Gui {

class EmptyOverlay;
class TraceFilterModel;

/*!
    \class PlexusMonitor::Gui::TraceView
    The live trace: the sampled message headers of every master, newest at the bottom
    (followed while the view is scrolled to the end), filtered by kind and by a regular
    expression over all columns. Pause keeps the rows as they are (the client still counts
    what arrives); Export writes the rows the filters show, as CSV or JSON. An empty view
    says whether nothing was traced yet or the filters hide everything.
*/
class TraceView : public ViewPage
{
    Q_OBJECT
public:
    explicit TraceView(const ClusterState *state, QWidget *parent = nullptr);

    TraceModel *model() const { return m_model; }
    QTableView *view() const { return m_view; }
    bool isTracePaused() const;
    void setTracePaused(bool paused);
    /*! The regular expression over all columns (case-insensitive). */
    void setFilter(const QString &pattern);
    /*! Only samples of \a kind (a MessageKind), -1 for all. */
    void setKindFilter(int kind);
    /*! The rows the filters show now. */
    int shownRows() const;
    /*! Writes the rows the filters show to \a fileName, CSV or JSON by its suffix; false on
        error, with a message box that does not block (open()) unless \a quiet. */
    bool exportTo(const QString &fileName, bool quiet = false);

protected:
    void refreshView() override;

private:
    void exportDialog();
    void applyFilter();
    void updateSummary();
    void updateEmptyText();

    const ClusterState *m_state;
    TraceModel *m_model = nullptr;
    TraceFilterModel *m_proxy = nullptr;
    QTableView *m_view = nullptr;
    QLineEdit *m_filter = nullptr;
    QComboBox *m_kind = nullptr;
    QAction *m_pause = nullptr;
    QLabel *m_summary = nullptr;
    EmptyOverlay *m_empty = nullptr;
    bool m_sized = false;
};

} // namespace PlexusMonitor::Gui
