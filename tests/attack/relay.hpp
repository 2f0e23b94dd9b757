#pragma once
// The attack tests' names for the hostile relay: a FrameProxy whose hook is the attack.
#include "cardperso/testing/frame_proxy.hpp"

namespace cardperso::attack {

using testing::Direction;
using testing::FrameProxy;
using testing::pass_through;
using testing::RelayedFrame;
using testing::RelayOutput;
// An attack decides what becomes of every frame (pass, change, drop, hold, inject, cut).
using Attack = testing::FrameHook;

}  // namespace cardperso::attack
