"""VAE-on-MNIST experiment: model, loss, sources and policies, resumable chains, metrics, data errors."""

from __future__ import annotations

import dataclasses
import gzip
import sys
from pathlib import Path
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from conftest import documentation
from collapse_utils import data, devices, vae
from collapse_utils import vae_figures as vf
from collapse_utils.paths import REPO_ROOT
from collapse_utils import mnist_classifier as mc
from collapse_utils.profiles import VAE as VAE_PROFILES
from collapse_utils.cache import load_pickle
from collapse_utils.recursion import Accumulate, KeepReal, Replace, policy_label

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def tiny_settings(**changes) -> vae.VAESettings:
    values = dict(VAE_PROFILES["smoke"], n_generations=2, epochs=3, images_per_epoch=64, batch_size=32,
                  train_size=256, n_eval=64, shown_generations=[0, 2], policies=["replace"])
    return vae.VAESettings(**{**values, **changes})


@pytest.fixture(scope="module")
def mnist():
    torch.set_num_threads(1)
    images, labels = data.load_mnist("train")
    return images[:3000], labels[:3000]


def real_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(images).reshape(-1, 1, 28, 28)


# ----------------------------------------------------------------------------- model

def test_parameter_count_is_the_authors():
    assert sum(p.numel() for p in vae.VAE(20).parameters()) == 647_081


def test_shapes():
    model = vae.new_vae(20, seed=0, device=CPU)
    x = torch.rand(3, 1, 28, 28)
    recon, mu, log_var = model(x, torch.zeros(3, 20))
    assert recon.shape == x.shape and mu.shape == log_var.shape == (3, 20)
    assert float(recon.detach().min()) > 0 and float(recon.detach().max()) < 1
    assert vae.decode_prior(model, 5, vae.torch_generator(1)).shape == (5, 1, 28, 28)
    assert vae.encode_means(model, x).shape == (3, 20)


def test_loss_closed_form():
    """μ = 0, log σ² = 0 gives KL = 0; reconstructions of 1/2 cost ln 2 nats per pixel."""
    images = torch.rand(4, 1, 28, 28)
    zeros = torch.zeros(4, 20)
    loss = vae.vae_loss(images, torch.full_like(images, 0.5), zeros, zeros)
    assert float(loss) == pytest.approx(4 * 784 * np.log(2), rel=1e-5)
    mu = torch.ones(4, 20)  # KL of N(1, 1) from N(0, 1) is 1/2 per dimension
    assert float(vae.vae_loss(images, torch.full_like(images, 0.5), mu, zeros, beta=2.0) - loss) == \
        pytest.approx(2.0 * 4 * 20 * 0.5, rel=1e-5)


def test_loss_decreases_on_a_tiny_subset(mnist):
    settings = tiny_settings(epochs=4, images_per_epoch=64)
    sampler = vae.Sampler(real_tensor(mnist[0][:256]), load=None)
    _, losses = vae.train_vae(partial(sampler.draw, vae.RealImages(np.arange(256))), settings, seed=0, device=CPU)
    assert len(losses) == 4
    # The first epoch averages over an untrained start (784 ln 2 = 543 nats per image at outputs 1/2); over
    # seeds 0-39 it was never below 473, so 300 only fails if the loss is not the summed per-image ELBO.
    assert losses[0] > 300
    # Seeded spread of losses[-1] / losses[0] over seeds 0-39: mean 0.619, sd 0.047, max 0.732. The bound 0.8 is
    # 3.8 sd above the mean: false-failure rate < 1e-4 (normal tail) for any seed; a model that does not learn gives ~1.
    assert losses[-1] < 0.8 * losses[0]


def test_sampling_is_reproducible_with_a_seed():
    model = vae.new_vae(20, seed=3, device=CPU)
    same = vae.new_vae(20, seed=3, device=CPU)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), same.state_dict().values()))
    first = vae.decode_prior(model, 8, vae.torch_generator(7))
    assert torch.equal(first, vae.decode_prior(same, 8, vae.torch_generator(7)))
    assert not torch.equal(first, vae.decode_prior(model, 8, vae.torch_generator(8)))


def test_latent_statistics_on_synthetic_means():
    rng = np.random.default_rng(0)
    means = rng.normal(0.3, 0.7, size=(5000, 20))
    stats = vae.latent_statistics(means)
    # standard errors: 0.7 / sqrt(1e5) ~ 0.0022 for the mean, 0.7 / sqrt(2e5) ~ 0.0016 for the std; the bounds are
    # 4.5 and 5 standard errors: false-failure rate < 1e-5 (normal tails) for any seed
    assert stats["latent_mean"] == pytest.approx(0.3, abs=0.01)
    assert stats["latent_std"] == pytest.approx(0.7, abs=0.008)
    with pytest.raises(ValueError, match="at least 2"):
        vae.latent_statistics(np.zeros(1))


# ----------------------------------------------------------------------------- sources and policies

def test_mixture_draws_in_proportion_to_sizes():
    sampler = vae.Sampler(torch.cat([torch.zeros(100, 1, 28, 28), torch.ones(300, 1, 28, 28)]), load=None)
    mixture = vae.SourceOps().combine([vae.RealImages(np.arange(100)), vae.RealImages(np.arange(100, 400))])
    batch = sampler.draw(mixture, 4000, vae.torch_generator(0))
    share = float(batch[:, 0, 0, 0].mean())
    assert share == pytest.approx(0.75, abs=4 * np.sqrt(0.75 * 0.25 / 4000))  # 4 binomial sd: false-failure rate 6e-5


def test_policies_build_the_documented_training_sources():
    ops, real, model = vae.SourceOps(), vae.RealImages(np.arange(1000)), vae.Generation(0)
    rng = np.random.default_rng(0)
    data, _ = Replace().training_data(ops, model, Replace().start(ops, real, 500, rng), 500, rng)
    assert isinstance(data, vae.Decoded) and data.size == 500 and data.model == model
    keep = KeepReal(0.1)
    data, state = keep.training_data(ops, model, keep.start(ops, real, 500, rng), 500, rng)
    assert [type(p) for p in data.parts] == [vae.RealImages, vae.Decoded] and [p.size for p in data.parts] == [50, 450]
    assert len(set(data.parts[0].rows)) == 50  # 50 distinct real rows
    state = Accumulate().start(ops, real, 500, rng)
    for generation in (1, 2):
        data, state = Accumulate().training_data(ops, model, state, 500, rng)
        assert [p.size for p in data.parts] == [1000] + [500] * generation


def test_real_shares_give_accumulate_equal_shares():
    """Accumulate: all data so far in equal shares, so 1/(g + 1) real at generation g; keep-real: its fraction."""
    assert vae.real_shares(Accumulate(), 1000, 4) == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    assert vae.real_shares(KeepReal(0.1), 1000, 3) == pytest.approx([1, 0.1, 0.1, 0.1])
    assert vae.real_shares(Replace(), 1000, 2) == [1.0, 0.0, 0.0]


# ----------------------------------------------------------------------------- chains through run_generations

def chain(folder, real, settings, policy=KeepReal(0.25)) -> vae.VAEChain:
    return vae.VAEChain(settings, real, folder, policy_label(policy), CPU)


class CountingTrainer:
    """Stands in for vae.train_vae: counts calls and records each training source and its draw function."""

    def __init__(self) -> None:
        self.sources, self.draws, self.original = [], [], vae.train_vae

    def __call__(self, draw, *args, **kwargs):
        self.sources.append(draw.args[0])
        self.draws.append(draw)
        return self.original(draw, *args, **kwargs)


def weights(path) -> dict[str, torch.Tensor]:
    return vae.load_generation(Path(path), 20, CPU)[0].state_dict()


def same_chains(left: pd.DataFrame, right: pd.DataFrame) -> bool:
    """Same generations with the same weights and loss curves (training seconds may differ)."""
    if list(left["generation"]) != list(right["generation"]) or list(left["losses"]) != list(right["losses"]):
        return False
    return all(all(torch.equal(a[k], b[k]) for k in a) for a, b in
               ((weights(p), weights(q)) for p, q in zip(left["path"], right["path"])))


def test_chain_weights_the_real_pool_like_one_generation(mnist, tmp_path, monkeypatch):
    """In a chain, the 256 real images weigh like one generation's 32 images, and are all drawn from."""
    settings = tiny_settings(epochs=1, images_per_epoch=32)
    trainer = CountingTrainer()
    monkeypatch.setattr(vae, "train_vae", trainer)
    vae.run_chain(chain(tmp_path, real_tensor(mnist[0][:256]), settings, Accumulate()), Accumulate(),
                  np.random.default_rng(0), progress=False)
    assert [p.size for p in trainer.sources[2].parts] == [32, 32, 32] and len(trainer.sources[2].parts[0].rows) == 256
    batch = trainer.draws[0](256, vae.torch_generator(0))
    assert len({float(x.sum()) for x in batch}) > 200  # generation 0 draws from all 256 real images


def test_chain_runs_through_run_generations_and_resumes_to_the_same_bytes(mnist, tmp_path, monkeypatch):
    """An interrupted chain resumes from run_generations' checkpoint at the first unfinished generation and ends
    with the weights and metrics of an uninterrupted chain (same stream, same bytes)."""
    settings = tiny_settings(epochs=1, images_per_epoch=32, n_generations=3)
    real, policy = real_tensor(mnist[0][:128]), KeepReal(0.25)
    whole = vae.run_chain(chain(tmp_path / "whole", real, settings), policy, np.random.default_rng(5), progress=False)
    assert list(whole["generation"]) == [0, 1, 2, 3] and (whole["policy"] == "keep_real_25%").all()
    assert load_pickle(tmp_path / "whole" / "keep_real_25%" / "checkpoint.pkl")["generation"] == 3

    original, saved = vae.save_generation, []

    def save_then_interrupt(path, *args):  # Ctrl-C after generation 2's file is written, before its checkpoint
        original(path, *args)
        saved.append(path)
        if len(saved) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(vae, "save_generation", save_then_interrupt)
    resumed_chain = chain(tmp_path / "resumed", real, settings)
    with pytest.raises(KeyboardInterrupt):
        vae.run_chain(resumed_chain, policy, np.random.default_rng(5), progress=False)
    assert load_pickle(tmp_path / "resumed" / "keep_real_25%" / "checkpoint.pkl")["generation"] == 1
    trainer = CountingTrainer()
    monkeypatch.setattr(vae, "train_vae", trainer)
    resumed = vae.run_chain(resumed_chain, policy, np.random.default_rng(5), progress=False)
    assert len(trainer.sources) == 1  # generation 2 is loaded from its file, only generation 3 is trained
    assert same_chains(whole, resumed)
    again = vae.run_chain(resumed_chain, policy, np.random.default_rng(5), progress=False)  # all done: nothing trains
    assert len(trainer.sources) == 1 and again.drop(columns="path").equals(resumed.drop(columns="path"))


def test_damaged_files_are_reported_in_one_line_and_recomputed(mnist, tmp_path, monkeypatch, capfd):
    settings = tiny_settings(epochs=1, images_per_epoch=32, n_generations=2)
    real, policy = real_tensor(mnist[0][:128]), KeepReal(0.25)
    the_chain = chain(tmp_path, real, settings)
    whole = vae.run_chain(the_chain, policy, np.random.default_rng(5), progress=False)
    before = {path: weights(path) for path in whole["path"]}
    trainer = CountingTrainer()
    monkeypatch.setattr(vae, "train_vae", trainer)

    damaged = the_chain.path(vae.Generation(1))
    damaged.write_bytes(damaged.read_bytes()[:100])  # a truncated generation file: named once, retrained alone
    capfd.readouterr()
    again = vae.run_chain(the_chain, policy, np.random.default_rng(5), progress=False)
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("cache:")]
    assert len(lines) == 1 and str(damaged) in lines[0]
    assert len(trainer.sources) == 1
    assert all(torch.equal(before[str(damaged)][k], weights(damaged)[k]) for k in before[str(damaged)])
    assert same_chains(whole, again)

    checkpoint = tmp_path / "keep_real_25%" / "checkpoint.pkl"
    checkpoint.write_bytes(checkpoint.read_bytes()[:50])  # a truncated checkpoint: named once, replayed from files
    again = vae.run_chain(the_chain, policy, np.random.default_rng(5), progress=False)
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("cache:")]
    assert len(lines) == 1 and str(checkpoint) in lines[0]
    assert len(trainer.sources) == 1 and same_chains(whole, again)


@pytest.mark.slow
def test_generation_zero_is_shared_by_the_policies_of_a_run(mnist, tmp_path, monkeypatch):
    """Common random numbers: generation 0 is trained once per run and is the same whatever the policies."""
    settings = tiny_settings(epochs=1, images_per_epoch=32, n_generations=1, n_runs=2,
                             shown_generations=[0, 1], policies=["replace", "accumulate"])
    rng_for = lambda *key: np.random.default_rng(key[-1])  # noqa: E731
    trainer = CountingTrainer()
    monkeypatch.setattr(vae, "train_vae", trainer)
    models = vae.train_all(mnist[0], settings, rng_for, tmp_path / "both", CPU, progress=False)
    assert len(trainer.sources) == 2 * (1 + 2)  # per run: one generation 0, then generation 1 under each policy
    first = models[models["generation"] == 0].set_index(["run", "policy"])["path"]
    assert first[(0, "replace")] == first[(0, "accumulate")] != first[(1, "replace")]
    alone = vae.train_all(mnist[0], dataclasses.replace(settings, policies=["accumulate"]), rng_for,
                          tmp_path / "alone", CPU, progress=False)
    assert same_chains(alone[alone["generation"] == 0], models[(models["generation"] == 0)
                                                               & (models["policy"] == "replace")])
    trainer.sources.clear()
    vae.train_all(mnist[0], settings, rng_for, tmp_path / "both", CPU, progress=False, force=True)
    assert len(trainer.sources) == 6  # --force clears models and checkpoints: everything is trained again


def test_model_cache_is_keyed_by_training_settings_only():
    settings = tiny_settings()
    folder = vae.models_folder(settings, 0, CPU)
    more = dataclasses.replace(settings, n_runs=3, n_generations=5, policies=["replace", "accumulate"], n_eval=10)
    assert vae.models_folder(more, 0, CPU) == folder
    assert vae.models_folder(dataclasses.replace(settings, epochs=4), 0, CPU) != folder
    assert vae.models_folder(settings, 1, CPU) != folder


@pytest.mark.slow
def test_train_all_and_evaluate_give_one_row_per_generation(mnist, tmp_path):
    settings = tiny_settings(epochs=1, images_per_epoch=32, n_generations=1, n_runs=2,
                             shown_generations=[0, 1], policies=["replace", "accumulate"])
    models = vae.train_all(mnist[0], settings, lambda *key: np.random.default_rng(key[-1]), tmp_path, CPU,
                           progress=False)
    assert list(models["generation"]) == [0, 1] * 4 and (models["seconds"] > 0).all()
    assert len(set(models["path"])) == 6
    classifier = mc.Classifier().eval()
    real = mc.gaussian_stats(mc.predict(classifier, mnist[0][:200], CPU)[1])
    rng_for = lambda *key: np.random.default_rng([7, *key[1:]])  # noqa: E731
    metrics = vae.evaluate(models, settings, classifier, real, rng_for, CPU)
    assert len(metrics) == 8
    gen0 = metrics[metrics["generation"] == 0].set_index(["run", "policy"])["latent_std"]
    assert gen0[(0, "replace")] == gen0[(0, "accumulate")]
    fractions = metrics[[f"frac_{k}" for k in range(10)]].to_numpy()
    assert np.allclose(fractions.sum(axis=1), 1.0)
    assert ((metrics["class_entropy"] >= 0) & (metrics["class_entropy"] <= np.log2(10) + 1e-9)).all()
    values = vae.latent_values(models, settings, [1], rng_for, CPU)
    assert len(values) == 4 * settings.n_eval * 20
    pooled = vae.latent_statistics(values.query("run == 0 and policy == 'replace'")["value"])
    expected = metrics.query("run == 0 and generation == 1 and policy == 'replace'")["latent_std"].item()
    assert pooled["latent_std"] == pytest.approx(expected)
    grids = vae.sample_grids(models, [0, 1], 20, np.random.default_rng(3), CPU)
    assert grids[("replace", 1)].shape == (224, 224)
    again = vae.sample_grids(models, [0, 1], 20, np.random.default_rng(3), CPU)
    other = vae.sample_grids(models, [0, 1], 20, np.random.default_rng(4), CPU)
    assert np.array_equal(grids[("replace", 1)], again[("replace", 1)])
    assert not np.array_equal(grids[("replace", 1)], other[("replace", 1)])
    test_loss = vae.generation0_test_loss(models, mnist[0][:100], 20, rng_for, CPU)
    assert list(test_loss["run"]) == [0, 1] and (test_loss["test_loss"] > 0).all()


# ----------------------------------------------------------------------------- classifier metrics

def test_frechet_distance_matches_closed_form_for_gaussians():
    rng = np.random.default_rng(1)
    m1, m2 = rng.normal(size=4), rng.normal(size=4)
    a, b = rng.uniform(0.2, 3.0, size=4), rng.uniform(0.2, 3.0, size=4)
    expected = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert mc.frechet_distance(m1, np.diag(a), m2, np.diag(b)) == pytest.approx(expected, rel=1e-10)
    rotation, _ = np.linalg.qr(rng.normal(size=(4, 4)))  # same rotation of both: distance unchanged
    rotated = [rotation @ m1, rotation @ np.diag(a) @ rotation.T, rotation @ m2, rotation @ np.diag(b) @ rotation.T]
    assert mc.frechet_distance(*rotated) == pytest.approx(expected, rel=1e-8)
    assert mc.frechet_distance(m1, np.diag(a), m1, np.diag(a)) == pytest.approx(0.0, abs=1e-10)


def test_frechet_distance_is_symmetric_and_matches_1d_wasserstein():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    c1, c2 = x @ x.T + 0.1 * np.eye(3), y @ y.T + 0.1 * np.eye(3)
    m = np.zeros(3)
    assert mc.frechet_distance(m, c1, m, c2) == pytest.approx(mc.frechet_distance(m, c2, m, c1), rel=1e-8)
    # 1-D: W2^2 between N(0, 4) and N(1, 1) is 1 + (2 - 1)^2 = 2
    assert mc.frechet_distance(np.zeros(1), np.eye(1) * 4, np.ones(1), np.eye(1)) == pytest.approx(2.0)


def test_frechet_distance_from_samples_converges():
    rng = np.random.default_rng(3)
    a = rng.normal(0.0, 1.0, size=(200_000, 2))
    b = rng.normal([1.0, 0.0], [2.0, 1.0], size=(200_000, 2))
    # truth: 1 + (2 - 1)^2 = 2. Seeded spread of the estimate over 200 seeds: bias 0.001, sd 0.012, so 0.05 is
    # 4 sd: false-failure rate < 1e-4 (normal tail) for any seed; a wrong formula is off by O(1).
    assert mc.frechet_distance(*mc.gaussian_stats(a), *mc.gaussian_stats(b)) == pytest.approx(2.0, abs=0.05)
    with pytest.raises(ValueError, match="at least 2"):
        mc.gaussian_stats(np.zeros((1, 3)))


def test_entropy_and_class_histogram():
    assert mc.entropy_bits(np.full(10, 0.1)) == pytest.approx(np.log2(10))
    assert mc.entropy_bits(np.eye(10)[3]) == 0.0
    assert np.allclose(mc.class_histogram([1, 1, 2, 9]), np.bincount([1, 1, 2, 9], minlength=10) / 4)


@pytest.mark.slow
def test_classifier_learns_on_a_small_subset(mnist):
    images, labels = mnist
    model = mc.train_classifier(images[:2000], labels[:2000], epochs=1, seed=0, device=CPU, batch_size=32)
    # Seeded spread over seeds 0-7: accuracy mean 0.848, sd 0.018, min 0.831. The bound 0.75 is 5.5 sd below the
    # mean (false-failure rate < 1e-6, normal tail); chance is 0.1, so a classifier that does not learn fails.
    assert mc.accuracy(model, images[2000:3000], labels[2000:3000], CPU) > 0.75
    assert mc.predict(model, images[:5], CPU)[1].shape == (5, mc.FEATURE_DIM)
    with pytest.raises(ValueError, match="shape"):
        mc.as_batch(np.zeros((2, 28)), CPU)


def test_classifier_cache_is_reused(mnist, tmp_path):
    images, labels = mnist
    split = (images[:300], labels[:300]), (images[300:400], labels[300:400])
    model, record = mc.load_or_train(tmp_path, *split, epochs=1, seed=0, device=CPU)
    again, record_again = mc.load_or_train(tmp_path, *split, epochs=1, seed=0, device=CPU)
    assert record_again == record and 0.0 <= record["test_accuracy"] <= 1.0
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


# ----------------------------------------------------------------------------- settings and data errors

@pytest.mark.parametrize("change, message", [
    (dict(n_runs=0), "n_runs must be an integer >= 1, got 0"),
    (dict(n_eval=1), "n_eval must be an integer >= 2"),
    (dict(train_size=70000), "train_size must be an integer in \\[1, 60000\\]"),
    (dict(policies=["keep"]), "unknown data policy 'keep'"),
    (dict(policies=[]), "at least one data policy"),
    (dict(shown_generations=[0, 9]), "shown_generations must be"),
    (dict(lr=0.0), "lr must be > 0"),
    (dict(device="tpu"), "device must be 'auto', 'cpu' or 'cuda'"),
])
def test_settings_validation_errors(change, message):
    with pytest.raises(ValueError, match=message):
        tiny_settings(**change)


def test_profiles_are_valid_and_paper_profile_keeps_the_authors_settings():
    paper = vae.VAESettings(**VAE_PROFILES["paper"])
    assert (paper.latent_dim, paper.batch_size, paper.lr, paper.weight_decay, paper.epochs) == (20, 256, 1e-3, 1e-5, 30)
    assert paper.images_per_epoch == paper.train_size == 60000 and paper.n_generations >= 20
    assert paper.steps_per_generation == 30 * 235
    for name in ("smoke", "default"):
        assert dataclasses.asdict(vae.VAESettings(**VAE_PROFILES[name]))


def test_pick_device_sets_threads_and_rejects_unknown_devices():
    assert devices.pick_device("cpu", threads=1) == CPU and torch.get_num_threads() == 1
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu' or 'cuda', got 'tpu'"):
        devices.pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device is available"):
            devices.pick_device("cuda")


def test_missing_mnist_names_file_checksum_and_remedy(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "data_dirs", lambda: [tmp_path])
    monkeypatch.setitem(sys.modules, "datasets", None)  # the hub fallback cannot run: import fails
    name = "mnist/t10k-images-idx3-ubyte"
    with pytest.raises(data.DataFileError) as error:
        data.load_mnist("test")
    text = str(error.value)
    assert name in text and data.MANIFEST[name] in text and "COLLAPSE_DATA_DIR" in text


def test_corrupt_mnist_names_expected_checksum(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "data_dirs", lambda: [tmp_path])
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / "mnist").mkdir(exist_ok=True)
        (tmp_path / "mnist" / f"{stem}.gz").write_bytes(gzip.compress(b"not mnist"))
    with pytest.raises(data.DataFileError, match="corrupt.*expected " + data.MANIFEST["mnist/t10k-images-idx3-ubyte"]):
        data.load_mnist("test")


# ----------------------------------------------------------------------------- paper numbers and plots

def synthetic_metrics() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [{"policy": "replace", "run": r, "generation": g, "latent_mean": 0.0,
             "latent_std": 0.7 - 0.06 * g + 0.01 * r, "class_entropy": 3.3 - 0.1 * g, "predictive_entropy": 0.1 + 0.05 * g, "frechet": 1.0 + g,
             **{f"frac_{k}": p for k, p in enumerate(rng.dirichlet(np.ones(10)))}}
            for r in range(2) for g in range(5)]
    return pd.DataFrame(rows)


def test_paper_reference_is_in_our_numbering_and_comparison_table():
    """The authors' five values are our generations 1-5 (their list starts at the first VAE trained on generated images)."""
    reference = vf.paper_reference()
    assert list(reference["generation"]) == [1, 2, 3, 4, 5]
    assert list(reference["mean"]) == [0.688, 0.603, 0.534, 0.483, 0.443]
    assert (reference["min"] <= reference["mean"]).all() and (reference["mean"] <= reference["max"]).all()
    assert vf.paper_value("train_loss_final") == 99
    table = vf.compare_with_paper(synthetic_metrics(), reference)
    row = table[table["generation"] == 4].iloc[0]
    assert (row["min"], row["max"], row["paper mean"]) == (0.46, 0.47, 0.483)
    assert table["paper mean"].isna().sum() == 1  # generation 0: no value from the authors


def synthetic_models(metrics: pd.DataFrame) -> pd.DataFrame:
    models = metrics[["policy", "run", "generation"]].copy()
    models["final_loss"] = 120.0 + 10 * models["generation"] + models["run"]
    models["losses"] = [[200.0, loss] for loss in models["final_loss"]]
    return models


def test_plots_build_from_frames_and_return_their_numbers():
    metrics = synthetic_metrics()
    latents = pd.DataFrame({"policy": "replace", "run": 0, "generation": np.repeat([0, 4], 100),
                            "value": np.random.default_rng(1).normal(size=200)})
    real = {"class_entropy": 3.3, "predictive_entropy": 0.1, "frechet": 0.5}
    columns = ["panel", "series", "generation", "x", "statistic", "value"]
    fig, data = vf.plot_latents(latents, metrics, [0, 4], vf.paper_reference())
    assert len(fig.axes) == 3 and list(data.columns) == columns
    ours = data.query("panel == 'latent_std' and series == 'replace' and statistic == 'mean'")
    assert np.allclose(ours["value"], metrics.groupby("generation")["latent_std"].mean())
    authors = data.query("series == 'authors' and statistic == 'mean'")
    assert list(authors["generation"]) == [1, 2, 3, 4, 5]
    density = data.query("panel == 'density' and generation == 4")
    assert np.sum(density["value"]) * 0.1 == pytest.approx(1.0)  # bins of width 0.1, all values inside
    fig, data = vf.plot_classifier(metrics, real)
    assert len(fig.axes) == 5  # four panels and a colour bar
    assert data.query("panel == 'frechet' and series == 'real images'")["value"].item() == 0.5
    fractions = data.query("panel == 'class_fraction'").groupby("generation")["value"].sum()
    assert np.allclose(fractions, 1.0)
    test_loss = pd.DataFrame({"run": [0, 1], "test_loss": [110.0, 112.0]})
    fig, data = vf.plot_training(synthetic_models(metrics), test_loss, 99.0)
    assert data.query("panel == 'generation0_loss' and series == 'training'")["value"].tolist() == [200.0, 120.5]
    assert data.query("panel == 'final_loss' and statistic == 'max' and generation == 4")["value"].item() == 161.0
    grids = {("replace", g): np.full((224, 224), 0.25) for g in (0, 4)}
    grids[("replace", 4)][0, :10] = 0.0
    fig, data = vf.plot_grids(grids)
    assert len(fig.axes) == 2 and len(data) == 2 * 224 * 224 - 10 and (data["level"] == 64).all()
    assert data.query("generation == 4")["pixel"].min() == 10  # zero pixels are left out
    plt.close("all")


def test_summary_is_computed_from_the_results():
    metrics = synthetic_metrics()
    test_loss = pd.DataFrame({"run": [0, 1], "test_loss": [110.0, 112.0]})
    real = {"class_entropy": 3.3, "predictive_entropy": 0.1, "frechet": 0.5}
    text = vf.summary_markdown(metrics, synthetic_models(metrics), test_loss, vf.paper_reference(), real, 99.0)
    assert "0.705 → 0.645 → 0.585 → 0.525 → 0.465" in text and "in 2 of 2 runs" in text
    assert "gap of 21.5 nats" in text and "120.5 nats per image" in text and "111.0 on the real test images" in text
    assert "rising at 4 of 4 generations" in text and "falling at 4 of 4" in text and "rising at 4 of 4 (floor" in text
    assert "at 1 of 4 generations" in text  # of 0.645, 0.585, 0.525, 0.465 only 0.525 is in the authors' [0.523, 0.554]
    assert f"{0.465 / 0.645:.2f}× its generation-1 value" in text and f"(authors: {0.483 / 0.688:.2f}×)" in text


# ----------------------------------------------------------------------------- claims against the committed figures

def vae_claims() -> pd.DataFrame:
    """The notebook's rows of data/claims.csv (tests/test_claims.py recomputes each from the figure CSVs)."""
    claims = pd.read_csv(REPO_ROOT / "data" / "claims.csv")
    return claims[claims["notebook"] == "04_vae_mnist"].set_index("id")


def test_authors_values_in_the_claims_are_those_of_the_reference_table():
    claims = vae_claims()
    reference = vf.paper_reference().set_index("generation")["mean"]
    for generation, value in reference.items():
        assert float(claims.loc[f"vae_latent_std_gen{generation}", "paper_value"]) == value
    assert float(claims.loc["vae_train_loss_gen0", "paper_value"]) == vf.paper_value("train_loss_final")
    ratio = float(claims.loc["vae_latent_std_ratio_gen5_gen1", "paper_value"])
    assert ratio == pytest.approx(reference[5] / reference[1], abs=5e-5)  # written with 4 decimals


def readme_vae_section() -> str:
    """The VAE section of the documentation, its whitespace collapsed to single spaces (line breaks are layout)."""
    text = documentation()
    start = text.index("# 04 · A VAE on MNIST")
    return " ".join(text[start:text.index("\n## ", start + 1)].split())


def test_readme_vae_numbers_are_claims():
    """Every number the README's VAE section quotes from our results is a claim's our_value, as written there."""
    section, claims = readme_vae_section(), vae_claims()
    for claim_id, digits in README_NUMBERS.items():
        assert f"{claims.loc[claim_id, 'our_value']:.{digits}f}" in section, claim_id
    ratio = claims.loc["vae_latent_std_ratio_gen5_gen1"]
    assert f"falls to {ratio['our_value']:.2f}× its value, the authors' to {float(ratio['paper_value']):.2f}×" in section


def test_readme_places_our_spread_against_the_authors_range_as_the_claims_do():
    """Where the README says our mean latent spread lies against the authors' min-max range holds for the claims."""
    claims, places = vae_claims(), {}
    for generation in range(1, 6):
        ours = claims.loc[f"vae_latent_std_gen{generation}", "our_value"]
        low, high = (float(claims.loc[f"vae_latent_std_gen{generation}_{end}", "paper_value"]) for end in ("min", "max"))
        places.setdefault("inside" if low <= ours <= high else "above" if ours > high else "below", []).append(generation)
    assert places == {"inside": [1, 4], "above": [2, 3], "below": [5]}
    assert ("inside their min–max range at generations 1 and 4, above it at generations 2 and 3 and below it at "
            "generation 5") in readme_vae_section()


def test_our_range_overlaps_the_authors_at_every_generation_as_the_readme_says():
    """With as many runs as the authors (5), our min-max range of the latent spread overlaps theirs at each of
    their five generations (our 1-5), as the README says."""
    claims = vae_claims()
    for generation in range(1, 6):
        ours, theirs = ([float(claims.loc[f"vae_latent_std_gen{generation}_{end}", column]) for end in ("min", "max")]
                        for column in ("our_value", "paper_value"))
        assert ours[0] <= theirs[1] and theirs[0] <= ours[1], generation
    assert "our min–max range over as many runs overlaps theirs at all five generations" in readme_vae_section()
    assert vae.VAESettings().n_runs == VAE_PROFILES["paper"]["n_runs"] == 5


#: Claims quoted in the README's VAE section, with the decimals they are written with.
README_NUMBERS = {**{f"vae_latent_std_gen{g}": 2 for g in range(6)}, "vae_train_loss_gen0": 0,
                  "vae_frechet_gen0": 0, "vae_frechet_gen5": 0, "vae_predictive_entropy_gen0": 2,
                  "vae_predictive_entropy_gen5": 2}
