// SPDX-License-Identifier: MIT
#pragma once

#include <QtWidgets/qdialog.h>

QT_BEGIN_NAMESPACE
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
QT_END_NAMESPACE

namespace PlexusMonitor::Gui {

/*!
    \class PlexusMonitor::Gui::SendMessageDialog
    Asks for a test message to send through a master's ControlOpcode: the op-code (picked
    from those the cluster knows, or typed, decimal or 0x hex), the data (text, or hex with
    the "hex" box) and whether it is broadcast to the whole cluster.
*/
class SendMessageDialog : public QDialog
{
    Q_OBJECT
public:
    explicit SendMessageDialog(QWidget *parent = nullptr);

    /*! Op-codes to offer (code, display name). */
    void setKnownOpcodes(const QList<std::pair<quint32, QString>> &opcodes);
    void setTarget(const QString &description);
    void setOpcode(quint32 code);

    quint32 opcode() const;
    QByteArray data() const;
    bool isBroadcast() const;

    void accept() override;

private:
    bool parseOpcode(quint32 *code) const;

    QLabel *m_target = nullptr;
    QComboBox *m_opcode = nullptr;
    QPlainTextEdit *m_data = nullptr;
    QCheckBox *m_hex = nullptr;
    QCheckBox *m_broadcast = nullptr;
    QLabel *m_error = nullptr;
};

} // namespace PlexusMonitor::Gui
