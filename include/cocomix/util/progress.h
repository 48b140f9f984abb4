// The console progress lines: the Trainer's every log.every steps (the same
// numbers as the metrics.jsonl record), cocomix-tokenize's and cocomix-sae
// train's, formatted for a person.
#pragma once

#include <cstdint>
#include <string>

namespace cocomix {

/// What one progress line shows.
struct ProgressFields {
  int64_t step = 0;                ///< optimizer steps done so far (this run and any it resumed)
  int64_t max_steps = 0;           ///< train.max_steps
  double loss = 0;                 ///< mean training loss since the last line (NaN prints "nan")
  double lr = 0;                   ///< learning rate of the last step
  double grad_norm = 0;            ///< global gradient norm before clipping, last step
  double tokens_per_second = 0;    ///< throughput since the last line, all ranks; < 0 = unknown
  double mfu = -1;                 ///< model FLOP utilization as a fraction; < 0 = unknown
  double elapsed_seconds = 0;      ///< wall time since this process started training
  int64_t steps_this_session = 0;  ///< steps done in that time (ETA = elapsed / these * steps left)
  int64_t skipped_steps = 0;       ///< steps skipped for a non-finite loss or gradient; shown when > 0
};

/// "step  120/1000 | loss 3.2145 | lr 5.40e-04 | gnorm 0.812 | tok/s 12,345 | mfu 41.2% | eta 3m05s",
/// then " | skipped 2" when steps were skipped. The step is right-aligned to the width
/// of max_steps; unknown values (mfu < 0, tok/s < 0, no steps yet for the ETA) print "--".
std::string format_progress_line(const ProgressFields& fields);

/// What one cocomix-tokenize progress line shows.
struct TokenizeProgressFields {
  int64_t disk_bytes_done = 0;   ///< input bytes on disk consumed (compressed bytes for .gz / .zst)
  int64_t disk_bytes_total = 0;  ///< size of all inputs on disk
  int64_t text_bytes = 0;        ///< bytes of document text tokenized (after decompression)
  int64_t documents = 0;
  int64_t tokens = 0;
  double elapsed_seconds = 0;
};

/// " 42.0% | 120.5 MiB | 35.2 MB/s | docs 12,345 | tokens 30,123,456 | eta 3m05s": the
/// share of the input read, text tokenized, its rate in MB/s (10^6 bytes), and the ETA
/// from the share read so far ("--" before anything is read).
std::string format_tokenize_progress_line(const TokenizeProgressFields& fields);

/// What one `cocomix-sae train` progress line shows.
struct SaeProgressFields {
  int64_t step = 0;                ///< optimizer steps done so far (this run and any it resumed)
  int64_t max_steps = 0;           ///< --steps
  double nmse = 0;                 ///< mean normalised MSE since the last line
  double fvu = 0;                  ///< mean fraction of variance unexplained (teacher space) since the last line
  double aux_loss = 0;             ///< mean AuxK loss since the last line
  double dead_fraction = 0;        ///< share of dead latents now, in [0, 1]
  double tokens_per_second = 0;    ///< activations per second since the last line; < 0 = unknown
  double elapsed_seconds = 0;      ///< wall time since this process started training
  int64_t steps_this_session = 0;  ///< steps done in that time (for the ETA)
};

/// "step  120/1000 | nmse 0.1234 | fvu 0.0456 | aux 0.7890 | dead 12.3% | tok/s 12,345 | eta 3m05s",
/// aligned and with "--" for unknowns as format_progress_line.
std::string format_sae_progress_line(const SaeProgressFields& fields);

/// 12345.6 -> "12,346": rounded to an integer, thousands separated by commas; "--"
/// when negative or not finite.
std::string format_thousands(double value);

}  // namespace cocomix
