// SPDX-License-Identifier: MIT
#include "sendmessagedialog.h"

#include "presentation.h"

#include <QtWidgets/qboxlayout.h>
#include <QtWidgets/qcheckbox.h>
#include <QtWidgets/qcombobox.h>
#include <QtWidgets/qdialogbuttonbox.h>
#include <QtWidgets/qformlayout.h>
#include <QtWidgets/qlabel.h>
#include <QtWidgets/qlineedit.h>
#include <QtWidgets/qplaintextedit.h>
#include <QtWidgets/qpushbutton.h>

using namespace Qt::StringLiterals;

namespace PlexusMonitor::Gui {

SendMessageDialog::SendMessageDialog(QWidget *parent) : QDialog(parent)
{
    setWindowTitle(tr("Send a test message"));
    auto *layout = new QVBoxLayout(this);
    m_target = new QLabel(this);
    m_target->setWordWrap(true);
    layout->addWidget(m_target);

    auto *form = new QFormLayout;
    m_opcode = new QComboBox(this);
    m_opcode->setEditable(true);
    m_opcode->setInsertPolicy(QComboBox::NoInsert);
    m_opcode->lineEdit()->setPlaceholderText(tr("0x100 or 256"));
    form->addRow(tr("&Op-code:"), m_opcode);
    m_data = new QPlainTextEdit(this);
    m_data->setPlaceholderText(tr("Payload (may be empty)"));
    m_data->setTabChangesFocus(true);
    m_data->setMaximumHeight(90);
    form->addRow(tr("&Data:"), m_data);
    m_hex = new QCheckBox(tr("Data is &hex (\"de ad be ef\")"), this);
    form->addRow(QString(), m_hex);
    m_broadcast = new QCheckBox(tr("&Broadcast to every process of every machine"), this);
    m_broadcast->setToolTip(tr("Off: the master that receives the request handles the "
                               "message itself"));
    form->addRow(QString(), m_broadcast);
    layout->addLayout(form);

    m_error = new QLabel(this);
    m_error->setStyleSheet(u"color: #c0392b;"_s);
    m_error->hide();
    layout->addWidget(m_error);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    QPushButton *send = buttons->addButton(tr("&Send"), QDialogButtonBox::AcceptRole);
    send->setIcon(QIcon(u":/plexus-monitor/send.svg"_s));
    send->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &SendMessageDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &SendMessageDialog::reject);
    layout->addWidget(buttons);
    resize(440, sizeHint().height());
}

void SendMessageDialog::setKnownOpcodes(const QList<std::pair<quint32, QString>> &opcodes)
{
    const QString typed = m_opcode->currentText();
    m_opcode->clear();
    for (const auto &[code, name] : opcodes)
        m_opcode->addItem(Presentation::opcode(code, name), code);
    m_opcode->setCurrentText(typed);
}

void SendMessageDialog::setTarget(const QString &description)
{
    m_target->setText(description);
}

void SendMessageDialog::setOpcode(quint32 code)
{
    const int index = m_opcode->findData(code);
    if (index >= 0)
        m_opcode->setCurrentIndex(index);
    else
        m_opcode->setCurrentText(u"0x"_s + QString::number(code, 16));
}

bool SendMessageDialog::parseOpcode(quint32 *code) const
{
    const int index = m_opcode->findText(m_opcode->currentText());
    if (index >= 0) {
        *code = m_opcode->itemData(index).toUInt();
        return true;
    }
    QString text = m_opcode->currentText().trimmed();
    // "name (0x100)": take the part in brackets.
    if (const qsizetype open = text.lastIndexOf(u'('); open >= 0 && text.endsWith(u')'))
        text = text.mid(open + 1, text.size() - open - 2);
    bool ok = false;
    const qulonglong value = text.startsWith(u"0x"_s, Qt::CaseInsensitive)
            ? text.mid(2).toULongLong(&ok, 16) : text.toULongLong(&ok, 10);
    if (!ok || value == 0 || value > 0xffffffffull)
        return false;
    *code = quint32(value);
    return true;
}

quint32 SendMessageDialog::opcode() const
{
    quint32 code = 0;
    return parseOpcode(&code) ? code : 0;
}

QByteArray SendMessageDialog::data() const
{
    const QString text = m_data->toPlainText();
    if (m_hex->isChecked())
        return QByteArray::fromHex(text.toLatin1());
    return text.toUtf8();
}

bool SendMessageDialog::isBroadcast() const
{
    return m_broadcast->isChecked();
}

void SendMessageDialog::accept()
{
    quint32 code = 0;
    if (!parseOpcode(&code)) {
        m_error->setText(tr("Enter an op-code from 1 to 0xffffffff (decimal or 0x hex)."));
        m_error->show();
        return;
    }
    if (code >= 0xFF000000u) {
        m_error->setText(tr("Op-codes from 0xff000000 up are reserved for Plexus."));
        m_error->show();
        return;
    }
    QDialog::accept();
}

} // namespace PlexusMonitor::Gui
