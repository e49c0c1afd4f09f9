// SPDX-License-Identifier: MIT
#pragma once

/*
    Process titles for the processes Plexus forks, so that ps and top say what each one is:
    "demo: worker 2" on the command line (ps -o args), "demo:w2" as the 15-character name
    (top, ps -o comm), "demo: forkserver" / "demo:forkserver" for the fork server.
*/
namespace Plexus::ProcessTitle {

// Pre-Qt, once, in the master before it forks: moves the argument strings to the heap
// (argv[] then points there, with the same contents) so that the memory ps reads can hold
// a title in the children.
void init(int argc, char **argv) noexcept;
// In a child: sets the name (comm) and, after init(), the command line to
// "<program>: <what>"; \a shortWhat is used for the 15-character name ("w2").
void set(const char *what, const char *shortWhat = nullptr) noexcept;

} // namespace Plexus::ProcessTitle
