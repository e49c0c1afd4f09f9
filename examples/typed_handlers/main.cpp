// SPDX-License-Identifier: MIT
//
// Melon-style typed handlers (mln_ipc_handler_register). One message type has a handler in
// the master and another in the workers, each with its own data and a state slot that
// persists between calls. Each of the 3 workers sends the master 3 "job" messages; once it
// has them all, the master tells every worker how many it counted from it, and each worker
// answers with a "done" message.
//
//   [worker 0] sent job 1                                  (jobs 1..3 from each worker)
//   [master] job handler: worker 0 message 1: job 1        (3 per worker)
//   [master] job handler: 9 messages in total from 3 workers
//   [worker 0] job handler: master counted 3 of my jobs (answer 1)
//   [master] done handler: 3 of 3 workers done
//   [master] totals: 9 jobs, 3 done

#include <plexus/plexus.h>

#include <QtCore/QByteArray>
#include <QtCore/QCoreApplication>

#include <cstdio>
#include <map>

namespace {

// Melon keeps types 0..1024 for itself; staying above them keeps the habit.
enum : quint32 {
    MsgJob = 2001,
    MsgDone = 2002,
};

constexpr int JobsPerWorker = 3;

// What the master's job handler remembers between calls, behind its void **state.
struct JobTally
{
    int total = 0;
    std::map<int, int> perWorker;   // slot -> messages
};

int jobsTotal = 0;   // master only, for the final line

int expectedWorkers()
{
    return int(Plexus::Node::instance()->workers().size());
}

void jobOnMaster(const Plexus::Message &message, const Plexus::WorkerInfo &worker, void *data,
                 void **state)
{
    // Plexus neither initialises nor frees the state: the handler owns it.
    if (!*state)
        *state = new JobTally;
    auto *tally = static_cast<JobTally *>(*state);
    const int fromWorker = ++tally->perWorker[worker.slot()];
    ++tally->total;
    std::printf("[master] %s handler: worker %d message %d: %.*s\n",
                static_cast<const char *>(data), worker.slot(), fromWorker,
                int(message.length()), message.data().data());
    std::fflush(stdout);
    if (tally->total < expectedWorkers() * JobsPerWorker)
        return;

    std::printf("[master] %s handler: %d messages in total from %d workers\n",
                static_cast<const char *>(data), tally->total, int(tally->perWorker.size()));
    std::fflush(stdout);
    jobsTotal = tally->total;
    // Answer every worker with its own count (mln_fork_iterate + mln_ipc_master_send_prepare).
    Plexus::Node *node = Plexus::Node::instance();
    node->forEachWorker([node, tally](const Plexus::WorkerInfo &w) {
        node->sendToWorker(w, MsgJob, QByteArray::number(tally->perWorker[w.slot()]));
    });
    delete tally;
    *state = nullptr;
}

void jobOnWorker(const Plexus::Message &message, const Plexus::WorkerInfo &, void *data,
                 void **state)
{
    // A plain counter fits in the state slot itself.
    const quintptr answers = quintptr(*state) + 1;
    *state = reinterpret_cast<void *>(answers);
    Plexus::Node *node = Plexus::Node::instance();
    std::printf("[worker %d] %s handler: master counted %.*s of my jobs (answer %u)\n",
                node->workerSlot(), static_cast<const char *>(data), int(message.length()),
                message.data().data(), unsigned(answers));
    std::fflush(stdout);
    node->sendToMaster(MsgDone, {});
}

void doneOnMaster(const Plexus::Message &, const Plexus::WorkerInfo &, void *data, void **state)
{
    const quintptr done = quintptr(*state) + 1;
    *state = reinterpret_cast<void *>(done);
    std::printf("[master] %s handler: %u of %d workers done\n", static_cast<const char *>(data),
                unsigned(done), expectedWorkers());
    std::fflush(stdout);
    if (int(done) == expectedWorkers()) {
        std::printf("[master] totals: %d jobs, %u done\n", jobsTotal, unsigned(done));
        std::fflush(stdout);
        QCoreApplication::quit();
    }
}

} // namespace

int main(int argc, char **argv)
{
    // Registered before exec(): every forked worker starts with the same table. The data
    // pointers (here each handler's name) are handed back to the handler on every call.
    static char jobName[] = "job";
    static char doneName[] = "done";
    if (!Plexus::registerHandler(MsgJob, jobOnMaster, jobOnWorker, jobName, jobName)
        || !Plexus::registerHandler(MsgDone, doneOnMaster, nullptr, doneName, nullptr))
        return 1;

    return Plexus::exec(argc, argv, {.workers = 3}, [](Plexus::Node &node) {
        if (!node.isWorker())
            return;
        for (int i = 1; i <= JobsPerWorker; ++i) {
            node.sendToMaster(MsgJob, {"job ", QByteArray::number(i)});
            std::printf("[worker %d] sent job %d\n", node.workerSlot(), i);
        }
        std::fflush(stdout);
    });
}
