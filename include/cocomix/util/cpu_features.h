// What this CPU can do fast, where it changes which precision a computation
// should use.
#pragma once

namespace cocomix {

/// True when /proc/cpuinfo lists the amx_bf16 flag (Intel Sapphire Rapids and
/// later): only then do bf16 matmuls and attention beat fp32 on a CPU.
bool cpu_has_amx_bf16();

}  // namespace cocomix
