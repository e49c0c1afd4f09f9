// SPDX-License-Identifier: MIT
//
// Synthetic snapshots and trace batches for the GUI tests, as tst_monitormodels feeds
// ClusterState.
#pragma once

#include "snapshot.h"

#include <QtCore/qlist.h>
#include <QtCore/qstring.h>

namespace SyntheticCluster {

using namespace PlexusMonitor;
using namespace Qt::StringLiterals;

constexpr quint64 M1 = 0xA1;
constexpr qint64 T0 = 1700000000000;

inline ProcessSnapshot process(qint64 pid, int slot, ProcessState state = ProcessState::Running)
{
    ProcessSnapshot p;
    p.pid = pid;
    p.slot = slot;
    p.role = slot < 0 ? ProcessRole::Master : ProcessRole::Worker;
    p.state = state;
    p.responding = true;
    return p;
}

// A master (pid 100) and its workers: slot i has pid workerPids[i].
inline MachineSnapshot machine(quint64 id, const QList<qint64> &workerPids, bool remoteControl = true)
{
    MachineSnapshot s;
    s.machine = id;
    s.host = u"host-%1"_s.arg(id, 0, 16);
    s.version = u"0.1.0"_s;
    s.time = T0;
    s.remoteControl = remoteControl;
    s.processes.append(process(100, -1));
    for (int i = 0; i < workerPids.size(); ++i)
        s.processes.append(process(workerPids.at(i), i));
    return s;
}

// A trace batch of \a machine: sample i is a call of op-code 0x100 for even i, a reply of
// op-code 0x200 for odd i.
inline TraceBatch traceBatch(quint64 machine, int samples)
{
    TraceBatch b;
    b.machine = machine;
    b.intervalMs = 250;
    b.events = quint64(samples);
    for (int i = 0; i < samples; ++i) {
        TraceSample s;
        s.time = T0 + i;
        s.from = 101;
        s.to = 100;
        s.kind = i % 2 ? MessageKind::Reply : MessageKind::Call;
        s.opcode = i % 2 ? 0x200 : 0x100;
        s.id = quint64(i);
        s.size = 4;
        b.samples.append(s);
    }
    return b;
}

} // namespace SyntheticCluster
