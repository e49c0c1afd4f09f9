// SPDX-License-Identifier: MIT
#include "emptyoverlay.h"

#include <QtCore/qabstractitemmodel.h>
#include <QtCore/qtimer.h>
#include <QtGui/qevent.h>
#include <QtWidgets/qabstractitemview.h>

namespace PlexusMonitor::Gui {

EmptyOverlay::EmptyOverlay(QAbstractItemView *view, const QString &text)
    : QLabel(text, view->viewport()), m_view(view)
{
    setAlignment(Qt::AlignCenter);
    setWordWrap(true);
    setTextFormat(Qt::RichText);
    setAttribute(Qt::WA_TransparentForMouseEvents);
    setForegroundRole(QPalette::PlaceholderText);
    setMargin(24);
    view->viewport()->installEventFilter(this);
    watchModel();
    // The model may be set after the overlay; check again once the event loop runs.
    QTimer::singleShot(0, this, [this] { watchModel(); });
}

void EmptyOverlay::watchModel()
{
    QAbstractItemModel *model = m_view->model();
    if (model == m_model) {
        updateVisibility();
        return;
    }
    if (m_model)
        disconnect(m_model, nullptr, this, nullptr);
    m_model = model;
    if (model) {
        connect(model, &QAbstractItemModel::rowsInserted, this, &EmptyOverlay::updateVisibility);
        connect(model, &QAbstractItemModel::rowsRemoved, this, &EmptyOverlay::updateVisibility);
        connect(model, &QAbstractItemModel::modelReset, this, &EmptyOverlay::updateVisibility);
        connect(model, &QAbstractItemModel::layoutChanged, this, &EmptyOverlay::updateVisibility);
    }
    updateVisibility();
}

void EmptyOverlay::updateVisibility()
{
    setGeometry(m_view->viewport()->rect());
    setVisible(!m_model || m_model->rowCount() == 0);
}

bool EmptyOverlay::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == m_view->viewport() && event->type() == QEvent::Resize)
        setGeometry(m_view->viewport()->rect());
    return QLabel::eventFilter(watched, event);
}

} // namespace PlexusMonitor::Gui
