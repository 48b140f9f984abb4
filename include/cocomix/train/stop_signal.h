// SIGINT/SIGTERM handling for long runs: the handler only sets a flag; the
// trainer checks it between steps, saves a checkpoint and exits cleanly.
#pragma once

namespace cocomix {

/// Installs the SIGINT/SIGTERM handlers (idempotent).
void install_stop_signal_handlers();
/// True once SIGINT or SIGTERM arrived.
bool stop_requested();
/// The signal number that asked to stop (0 if none).
int stop_signal();

}  // namespace cocomix
