// SPDX-License-Identifier: MIT
#include <plexus/payload.h>

#include <cstring>

namespace Plexus {

Payload::Payload(std::initializer_list<QByteArrayView> pieces) noexcept
{
    for (QByteArrayView piece : pieces)
        append(piece);
}

void Payload::append(QByteArrayView piece) noexcept
{
    if (piece.isEmpty())
        return;
    if (m_count == MaxPieces) {
        m_overflow = true;
        return;
    }
    m_pieces[m_count++] = piece;
    m_size += piece.size();
}

void Payload::copyTo(char *destination) const noexcept
{
    for (int i = 0; i < m_count; ++i) {
        std::memcpy(destination, m_pieces[i].data(), size_t(m_pieces[i].size()));
        destination += m_pieces[i].size();
    }
}

QByteArray Payload::toByteArray() const
{
    QByteArray out(m_size, Qt::Uninitialized);
    copyTo(out.data());
    return out;
}

} // namespace Plexus
