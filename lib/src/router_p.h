// SPDX-License-Identifier: MIT
#pragma once
namespace Plexus {
class MessagePrivate;
class Router
{
public:
    static void sendAutomaticFinalReply(MessagePrivate &request);
};
}
