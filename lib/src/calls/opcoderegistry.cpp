// SPDX-License-Identifier: MIT
#include "opcoderegistry_p.h"
#include "logging_p.h"

namespace Plexus {

OpcodeRegistry &OpcodeRegistry::instance()
{
    static OpcodeRegistry registry;
    return registry;
}

bool OpcodeRegistry::add(const OpcodeSpec &spec)
{
    if (!isUserOpcode(spec.opcode)) {
        qCWarning(lcIpc, "refusing op-code %#x: 0 and codes from 0xFF000000 are reserved",
                  spec.opcode);
        return false;
    }
    std::unique_lock locker(m_lock);
    if (!spec.call)
        m_specs.remove(spec.opcode);
    else
        m_specs.insert(spec.opcode, spec);
    return true;
}

bool OpcodeRegistry::remove(quint32 opcode)
{
    return add(OpcodeSpec{opcode, nullptr, nullptr, nullptr, nullptr});
}

std::optional<OpcodeSpec> OpcodeRegistry::find(quint32 opcode) const
{
    std::shared_lock locker(m_lock);
    const auto it = m_specs.constFind(opcode);
    if (it == m_specs.cend())
        return std::nullopt;
    return *it;
}

qsizetype OpcodeRegistry::count() const
{
    std::shared_lock locker(m_lock);
    return m_specs.size();
}

bool OpcodeRegistry::setName(quint32 opcode, const QString &name)
{
    if (!isUserOpcode(opcode)) {
        qCWarning(lcIpc, "refusing a name for op-code %#x: 0 and codes from 0xFF000000 are "
                         "reserved", opcode);
        return false;
    }
    std::unique_lock locker(m_lock);
    if (name.isEmpty())
        m_names.remove(opcode);
    else
        m_names.insert(opcode, name);
    return true;
}

QString OpcodeRegistry::name(quint32 opcode) const
{
    std::shared_lock locker(m_lock);
    return m_names.value(opcode);
}

QHash<quint32, QString> OpcodeRegistry::names() const
{
    std::shared_lock locker(m_lock);
    return m_names;
}

bool registerOpcode(const OpcodeSpec &spec)
{
    return OpcodeRegistry::instance().add(spec);
}

bool unregisterOpcode(quint32 opcode)
{
    return OpcodeRegistry::instance().remove(opcode);
}

std::optional<OpcodeSpec> opcode(quint32 opcode)
{
    return OpcodeRegistry::instance().find(opcode);
}

} // namespace Plexus

namespace Plexus {

bool setOpcodeName(quint32 opcode, const QString &name)
{
    return OpcodeRegistry::instance().setName(opcode, name);
}

QString opcodeName(quint32 opcode)
{
    return OpcodeRegistry::instance().name(opcode);
}

QList<quint32> OpcodeRegistry::opcodes() const
{
    std::shared_lock locker(m_lock);
    return m_specs.keys();
}

} // namespace Plexus
