// SPDX-License-Identifier: MIT
// LinkBuffer: the growable byte buffer behind a link's input and output.
#include "link_p.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace Plexus {

namespace {
// An idle buffer bigger than this gives its memory back (after a large message).
constexpr qsizetype IdleCapacity = 4 << 20;
} // namespace

// ---------------------------------------------------------------------------------------
// LinkBuffer

void LinkBuffer::reserve(qsizetype extra, qsizetype *keepFrom)
{
    if (m_size + extra <= m_capacity)
        return;
    // Move the live bytes (from keepFrom, or from head) to the front when that makes room.
    const qsizetype from = keepFrom && *keepFrom >= 0 ? qMin(*keepFrom, m_head) : m_head;
    const qsizetype live = m_size - from;
    if (from > 0 && live + extra <= m_capacity && from >= m_capacity / 4) {
        std::memmove(m_data, m_data + from, size_t(live));
        m_head -= from;
        m_size -= from;
        if (keepFrom && *keepFrom >= 0)
            *keepFrom -= from;
        return;
    }
    qsizetype capacity = qMax<qsizetype>(m_capacity * 2, 64 * 1024);
    while (capacity < m_size + extra)
        capacity *= 2;
    auto *data = static_cast<char *>(std::realloc(m_data, size_t(capacity)));
    if (!data)
        throw std::bad_alloc();
    m_data = data;
    m_capacity = capacity;
}

void LinkBuffer::consume(qsizetype n) noexcept
{
    m_head += n;
    if (m_head == m_size)
        m_head = m_size = 0;
}

void LinkBuffer::shrinkIfIdle() noexcept
{
    if (m_head == m_size && m_capacity > IdleCapacity) {
        std::free(m_data);
        m_data = nullptr;
        m_capacity = m_head = m_size = 0;
    }
}

} // namespace Plexus
