// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qpointer.h>
#include <QtWidgets/qlabel.h>

QT_BEGIN_NAMESPACE
class QAbstractItemView;
class QAbstractItemModel;
QT_END_NAMESPACE

namespace PlexusMonitor::Gui {

/*!
    \class PlexusMonitor::Gui::EmptyOverlay
    A hint over an item view's viewport while its model has no rows: what the view will
    show and what to do to get there ("Type host:port above and press Connect").
*/
class EmptyOverlay : public QLabel
{
    Q_OBJECT
public:
    EmptyOverlay(QAbstractItemView *view, const QString &text);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void watchModel();
    void updateVisibility();

    QAbstractItemView *m_view;
    QPointer<QAbstractItemModel> m_model;
};

} // namespace PlexusMonitor::Gui
