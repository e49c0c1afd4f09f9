// SPDX-License-Identifier: MIT
#pragma once

#include <plexus/plexusglobal.h>
#include <plexus/payload.h>
#include <plexus/message.h>
#include <plexus/callargs.h>
#include <plexus/calls.h>
#include <plexus/opcode.h>
#include <plexus/reply.h>
#include <plexus/workerinfo.h>
#include <plexus/typedhandler.h>
#include <plexus/introspection.h>
#include <plexus/node.h>
#include <plexus/exec.h>
