"""Data parallelism on Gloo over loopback (docs/distributed.md): 2 ranks x batch b
train to the same weights as 1 rank x 2b (fp32, within TOLERANCE) for NTP, under
torchrun, and for CoCoMix with a teacher; a rank killed by SIGKILL makes the other
exit non-zero within the timeout naming it, and so does a frozen (SIGSTOP) rank;
the killed run resumed on 2 ranks ends bitwise equal to the straight 2-rank run;
bad launches fail with one line."""
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

import torch
from safetensors.torch import load_file

from cocomix_testlib import (app, make_corpus, read_metrics, run, temp_dir, train_teacher, wait_for_checkpoint,
                             write_config, write_sae)

STEPS = 6
# 2 ranks average two half-batch gradients where 1 rank takes one batch: only fp32
# rounding differs (GEMM shapes, summation order). Measured after 6 AdamW steps
# (lr 1e-3): max |w_2ranks - w_1rank| = 3.9e-7 (ntp), 6.9e-8 (cocomix), while the
# weights moved 2.3e-3 over steps 3-6; the tolerance keeps a 50x margin.
TOLERANCE = 2e-5
TIMEOUT = 8  # dist.timeout_seconds of these tests
TORCHRUN = os.path.join(os.path.dirname(os.environ.get("COCOMIX_PYTHON", sys.executable)), "torchrun")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_env(rank, world, port, **extra):
    env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
               LOCAL_WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    env.update(extra)
    return env


def start_ranks(args, world=2, port=None, envs=None):
    """Starts `world` cocomix-train processes as a launcher would."""
    port = port or free_port()
    return [subprocess.Popen([app("cocomix-train")] + args, env=(envs or {}).get(r, rank_env(r, world, port)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in range(world)]


def finish(processes, timeout=300):
    """(returncode, stderr) of each process."""
    results = []
    for p in processes:
        _, err = p.communicate(timeout=timeout)
        results.append((p.returncode, err))
    return results


def final_weights(out, step=STEPS):
    return load_file(os.path.join(out, "checkpoints/step_%08d/model.safetensors" % step))


class DataParallelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = temp_dir()
        cls.train, cls.val = make_corpus(os.path.join(cls.root, "data"))
        # fp32, no dropout: the only difference between the runs is the reduction.
        cls.sections = dict(model={"dropout": 0.0}, optim={"warmup_steps": 1},
                            train={"batch_size": 2, "max_steps": STEPS, "precision": "fp32", "checkpoint_every": 2},
                            eval={"every": 0, "max_batches": 1}, dist={"timeout_seconds": TIMEOUT})
        cls.config = write_config(os.path.join(cls.root, "ntp.json"), cls.train, cls.val, **cls.sections)

    def assert_close_weights(self, a, b):
        wa, wb = final_weights(a), final_weights(b)
        self.assertEqual(sorted(wa), sorted(wb))
        worst = max((wa[k] - wb[k]).abs().max().item() for k in wa)
        self.assertLess(worst, TOLERANCE)
        # The runs did move the weights: the tolerance is far below the change.
        start = final_weights(a, 2)
        self.assertGreater(max((wa[k] - start[k]).abs().max().item() for k in wa), 100 * TOLERANCE)

    def assert_close_losses(self, a, b):
        la = [r["loss"] for r in read_metrics(a) if "loss" in r]
        lb = [r["loss"] for r in read_metrics(b) if "loss" in r]
        self.assertEqual(len(la), STEPS)
        for x, y in zip(la, lb):
            self.assertAlmostEqual(x, y, delta=1e-5)

    def test_two_ranks_under_torchrun_match_one_rank_with_twice_the_batch(self):
        single = os.path.join(self.root, "single")
        run([app("cocomix-train"), "--config", self.config, "--out", single, "--set", "train.batch_size=4"])
        double = os.path.join(self.root, "torchrun")
        result = run([TORCHRUN, "--nproc-per-node", "2", "--master-port", str(free_port()), "--no-python",
                      app("cocomix-train"), "--config", self.config, "--out", double], timeout=300)
        self.assertIn("2 ranks (torchrun)", result.stderr + result.stdout)
        self.assert_close_losses(single, double)
        self.assert_close_weights(single, double)
        # Every rank's sampler state is in the checkpoint; the ranks' windows are
        # disjoint by construction (rank r takes entries r, r+2, ... of one order),
        # and their union is the single run's batch, which the equal weights show.
        import json
        with open(os.path.join(double, "checkpoints/step_%08d/trainer_state.json" % STEPS)) as f:
            state = json.load(f)
        self.assertEqual([r["data"]["sources"][0]["sampler"]["rank"] for r in state["ranks"]], [0, 1])
        self.assertEqual(state["world_size"], 2)

    def test_cocomix_two_ranks_match_one_rank(self):
        teacher = train_teacher(self.root, self.train, self.val, train={"max_steps": 4, "checkpoint_every": 0})
        sae = write_sae(os.path.join(self.root, "sae"), d=64, layer=1)
        config = write_config(os.path.join(self.root, "cocomix.json"), self.train, self.val, **self.sections,
                              concept={"mode": "cocomix", "teacher_path": teacher, "sae_path": sae, "n_concepts": 96,
                                       "insert_layer": 1, "k_pred": 8, "k_attr": 4, "weight": 0.1})
        single = os.path.join(self.root, "cocomix_single")
        run([app("cocomix-train"), "--config", config, "--out", single, "--set", "train.batch_size=4"])
        double = os.path.join(self.root, "cocomix_double")
        for code, err in finish(start_ranks(["--config", config, "--out", double])):
            self.assertEqual(code, 0, err)
        self.assert_close_losses(single, double)
        self.assert_close_weights(single, double)
        concept = [r["concept_loss"] for r in read_metrics(double) if "concept_loss" in r]
        self.assertEqual(len(concept), STEPS)

    def start_until_first_checkpoint(self, out):
        """2 ranks training into OUT, returned once the step-2 checkpoint is complete."""
        processes = start_ranks(["--config", self.config, "--out", out])
        wait_for_checkpoint(processes, out, 2, timeout=120, poll=0.01)
        return processes

    def test_killed_rank_stops_the_other_and_resume_is_exact(self):
        straight = os.path.join(self.root, "straight2")
        for code, err in finish(start_ranks(["--config", self.config, "--out", straight])):
            self.assertEqual(code, 0, err)
        out = os.path.join(self.root, "killed2")
        processes = self.start_until_first_checkpoint(out)
        processes[1].send_signal(signal.SIGKILL)
        killed_at = time.time()
        code, err = finish(processes[:1], timeout=TIMEOUT + 30)[0]
        processes[1].communicate()
        if code == 0:  # rank 0 may have finished before the kill landed: then there is nothing to test
            self.skipTest("rank 0 finished before rank 1 was killed")
        self.assertEqual(code, 1, err)
        self.assertLess(time.time() - killed_at, TIMEOUT + 10)
        lines = [l for l in err.splitlines() if l.startswith("error:")]
        self.assertEqual(len(lines), 1, err)
        self.assertIn("rank 0:", lines[0])
        self.assertIn("rank 1 stopped", lines[0])
        for code, err in finish(start_ranks(["--config", self.config, "--out", out, "--resume"])):
            self.assertEqual(code, 0, err)
        a, b = final_weights(straight), final_weights(out)
        for k in a:
            self.assertTrue(torch.equal(a[k], b[k]), k)
        la = {r["step"]: r["loss"] for r in read_metrics(straight) if "loss" in r}
        lb = {r["step"]: r["loss"] for r in read_metrics(out) if "loss" in r}
        self.assertEqual(la, lb)
        # Resuming with another world size is refused.
        result = run([app("cocomix-train"), "--config", self.config, "--out", out, "--resume",
                      "--set", "train.max_steps=8"], check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("world_size", result.stderr)

    def test_frozen_rank_stops_the_other_within_the_timeout(self):
        out = os.path.join(self.root, "frozen")
        processes = self.start_until_first_checkpoint(out)
        processes[1].send_signal(signal.SIGSTOP)  # alive but silent: a hang
        frozen_at = time.time()
        try:
            code, err = finish(processes[:1], timeout=TIMEOUT + 60)[0]
        finally:
            processes[1].kill()
            processes[1].communicate()
        if code == 0:
            self.skipTest("rank 0 finished before rank 1 was stopped")
        self.assertEqual(code, 1, err)
        self.assertLess(time.time() - frozen_at, TIMEOUT + 15)  # the collective's timeout, then the diagnosis
        lines = [l for l in err.splitlines() if l.startswith("error:")]
        self.assertEqual(len(lines), 1, err)
        self.assertIn("rank 1 stopped (no heartbeat", lines[0])

    def assert_one_line_failure(self, results, *needles, code=None):
        for rc, err in results:
            self.assertNotEqual(rc, 0, err)
            if code is not None:
                self.assertEqual(rc, code, err)
            lines = [l for l in err.splitlines() if l.startswith("error:")]
            self.assertEqual(len(lines), 1, err)
            for needle in needles:
                self.assertIn(needle, lines[0])

    def bad_launch(self, envs, world=2, extra=()):
        args = ["--config", self.config, "--out", os.path.join(self.root, "bad_%d" % free_port())] + list(extra)
        start = time.time()
        results = finish(start_ranks(args, world=world, envs=envs), timeout=TIMEOUT + 60)
        self.assertLess(time.time() - start, TIMEOUT + 30)  # never a hang past the timeout
        return results

    def test_bad_launches_fail_with_one_line(self):
        port = free_port()
        self.assert_one_line_failure(self.bad_launch({0: rank_env(2, 2, port)}, world=1), "RANK=2", "WORLD_SIZE=2",
                                     code=2)
        env = rank_env(1, 2, port)
        del env["MASTER_ADDR"]
        self.assert_one_line_failure(self.bad_launch({0: env}, world=1), "MASTER_ADDR", code=2)
        # Rank 1 alone: nothing serves the store at MASTER_ADDR:MASTER_PORT.
        self.assert_one_line_failure(self.bad_launch({0: rank_env(1, 2, free_port())}, world=1), "rank 1",
                                     "rendezvous store", code=1)
        # Rank 0 alone: rank 1 never joins.
        self.assert_one_line_failure(self.bad_launch({0: rank_env(0, 2, free_port())}, world=1), "rank 0",
                                     "rank 1 did not join", code=1)

    def test_ranks_with_different_configs_fail(self):
        port = free_port()
        out = os.path.join(self.root, "differ")
        processes = [subprocess.Popen([app("cocomix-train"), "--config", self.config, "--out", out,
                                       "--set", "optim.lr=%g" % lr], env=rank_env(r, 2, port),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for r, lr in ((0, 1e-3), (1, 2e-3))]
        results = finish(processes, timeout=TIMEOUT + 60)
        self.assert_one_line_failure(results, "different config", code=2)
        self.assertIn("rank 1 started with a different config", results[0][1])

    def test_cuda_requested_without_a_device(self):
        if torch.cuda.is_available():
            self.skipTest("this machine has a GPU")
        results = self.bad_launch(None, extra=["--set", "train.device=cuda"])
        self.assert_one_line_failure(results, "train.device", "no CUDA device", code=2)
        results = self.bad_launch(None, extra=["--set", "dist.backend=nccl"])
        self.assert_one_line_failure(results, "dist.backend", "nccl", code=2)


if __name__ == "__main__":
    unittest.main()
