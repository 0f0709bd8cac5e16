"""Q3 models and training: shapes, quirks, decoding, a tiny training run, resume, audio-blind."""

import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from hw2repro import defaults, joblog
from hw2repro.q3 import dataset, evaluate, job
from hw2repro.q3 import models as AM
from hw2repro.q3 import train as AT
from hw2repro.runtime import setup_job

THREADS = 1
TINY = dict(hidden_dim=16, n_heads=2, feed_forward_dim=32)
ALPHABET = "<>@#" + " ,.?-" + "abcdefghijklmnopqrstuvwxyz"
WORDS = ["the", "of", "and", "a", "to", "in", "he", "was", "that", "his", "oswald", "said"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small tensors: one thread is fastest and keeps the shared machine free."""
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)


# --- fake feature files in the format of results/q3/features/{split}.pt ---------------------


def encode(text: str, max_len: int = 99) -> list[int]:
    """The homework's TokenVectorizer (for test data only)."""
    mapper = {c: i for i, c in enumerate(ALPHABET)}
    text = "<" + text.lower()[: max_len - 2] + ">"
    return [mapper.get(c, 3) for c in text] + [2] * (max_len - len(text))


def fake_split(n: int, n_frames: int, seed: int, dtype=torch.float32, n_mels: int = 80) -> dict:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, size=rng.integers(2, 12))) for _ in range(n)]
    tokens = torch.tensor([encode(t) for t in texts], dtype=torch.long)
    features = torch.from_numpy(rng.standard_normal((n, n_mels, n_frames)).astype(np.float32))
    # make the audio carry the text a little: the first tokens leave a trace in the features
    for i in range(n):
        features[i, tokens[i, 1:9] % n_mels, :] += 2.0
    return {
        "features": features.to(dtype),
        "tokens": tokens,
        "ids": [f"FAKE-{seed}-{i:04d}" for i in range(n)],
        "texts": texts,
        "n_frames": n_frames,
        "source": "test-fake",
        "synthetic": True,
    }


@pytest.fixture(scope="module")
def feature_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("features")
    paths = {}
    for i, (split, n) in enumerate({"train": 24, "val": 6, "test": 7}.items()):
        paths[split] = root / f"{split}.pt"
        torch.save(fake_split(n, 24, seed=i, dtype=torch.float16), paths[split])
    return paths


def config_settings(decoder="lstm", seed=42, **kw):
    """A run's settings from config/config.yaml (where every default lives), with ``kw``."""
    return replace(AT.TrainSettings.from_config(defaults.load()["q3"], decoder, seed), **kw)


def tiny_settings(decoder="lstm", **kw):
    base = dict(
        model=AM.ModelConfig(decoder=decoder, **TINY),
        epochs=3,
        batch_size=8,
        eval_batch_size=4,
        lr=3e-3,
        log_train_every=2,
    )
    base.update(kw)
    return config_settings(decoder, 7, **base)


def make_trainer(settings, paths, checkpoint=None):
    setup_job(settings.seed, THREADS, allow_cuda=False)
    data = {s: dataset.load_split(p) for s, p in paths.items()}
    return AT.Trainer(settings, data, "cpu", checkpoint_path=checkpoint, log=lambda m: None)


# --- architecture -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "decoder,total,dec",
    [("lstm", 1_471_235, 658_435), ("transformer", 1_329_835, 517_035)],
)
def test_parameter_count_homework_size(decoder, total, dec):
    model = AM.build_model(AM.ModelConfig(decoder=decoder))
    counts = AM.parameter_breakdown(model)
    # encoder: convs 48,200 + 120,200; 2 blocks x 322,000; final LayerNorm 400
    assert counts["encoder"] == 812_800
    assert counts == {"encoder": 812_800, "decoder": dec, "total": total}


@pytest.mark.parametrize("n_frames,expected", [(2754, 1377), (400, 200), (401, 201), (3, 2)])
def test_encoder_time_length(n_frames, expected):
    assert AM.encoder_time_length(n_frames) == expected
    conv = torch.nn.Conv1d(1, 1, 3, stride=2, padding=1)
    assert conv(torch.zeros(1, 1, n_frames)).shape[-1] == expected


def test_encoder_full_length_output_shape():
    cfg = AM.ModelConfig(decoder="transformer", **TINY)  # homework n_frames 2754
    enc = AM.AudioEncoderTransformer(cfg)
    assert enc._pos_embed.shape == (1377, 16)
    with torch.no_grad():
        out = enc(torch.randn(1, 80, 2754))
    assert out.shape == (1, 1377, 16)


def test_sinusoids_layout():
    pos = AM.sinusoids(10, 8, 3000)
    assert pos.shape == (10, 8)
    assert torch.allclose(pos[0], torch.tensor([0.0] * 4 + [1.0] * 4))
    inv = math.exp(-math.log(3000) / 3)  # second timescale
    assert pos[1, 1].item() == pytest.approx(math.sin(inv), rel=1e-6)
    assert pos[1, 5].item() == pytest.approx(math.cos(inv), rel=1e-6)


@pytest.mark.parametrize("decoder", AM.DECODERS)
def test_forward_shapes(decoder):
    cfg = AM.ModelConfig(decoder=decoder, n_frames=30, **TINY)
    model = AM.build_model(cfg)
    audio, text = torch.randn(3, 80, 30), torch.randint(0, 35, (3, 99))
    logits = model(audio, text[:, :-1])
    assert logits.shape == (3, 35, 98)
    out = AM.greedy_decode(model, audio)
    assert out.shape == (3, 99) and out.dtype == torch.long
    assert (out[:, 0] == 0).all()


def test_causal_mask_values():
    mask = AM.causal_mask(99)
    assert mask.shape == (99, 99)
    assert torch.isneginf(mask[0, 1]) and torch.isneginf(mask[5, 98])
    assert (mask.tril() == 0).all()
    assert torch.isneginf(mask.triu(1)[torch.ones(99, 99).triu(1).bool()]).all()


def test_transformer_decoder_is_causal():
    torch.manual_seed(0)
    cfg = AM.ModelConfig(decoder="transformer", n_frames=20, **TINY)
    model = AM.build_model(cfg).eval()
    audio = torch.randn(2, 80, 20)
    text = torch.randint(3, 35, (2, 98))
    changed = text.clone()
    changed[:, 50:] = torch.randint(3, 35, (2, 48))
    with torch.no_grad():
        a, b = model(audio, text), model(audio, changed)
    assert torch.equal(a[:, :, :50], b[:, :, :50])
    assert not torch.allclose(a[:, :, 50:], b[:, :, 50:])


def test_attention_scaling_and_key_without_bias():
    mha = AM.MultiHeadAttention(8, 2)
    assert mha._key.bias is None and mha._query.bias is not None and mha._value.bias is not None
    x = torch.randn(1, 5, 8)
    with torch.no_grad():
        q, k, v = mha._query(x), mha._key(x), mha._value(x)
        ref = torch.nn.functional.scaled_dot_product_attention(
            q.view(1, 5, 2, 4).transpose(1, 2),
            k.view(1, 5, 2, 4).transpose(1, 2),
            v.view(1, 5, 2, 4).transpose(1, 2),
        )  # scale 1/sqrt(d_head) = (d_head^-1/4)^2
        ref = mha._out(ref.transpose(1, 2).flatten(2))
        assert torch.allclose(mha(x), ref, atol=1e-6)


def test_same_seed_same_initial_weights():
    torch.manual_seed(42)
    a = AM.build_model(AM.ModelConfig(decoder="lstm", n_frames=20, **TINY)).state_dict()
    torch.manual_seed(42)
    b = AM.build_model(AM.ModelConfig(decoder="lstm", n_frames=20, **TINY)).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # the skeleton's attribute names: state dicts interchangeable with the original checkpoints
    assert "_dec._rnn.weight_ih_l0" in a and "_enc._att_blocks.1._mlp.2.bias" in a


@pytest.mark.parametrize("decoder", AM.DECODERS)
def test_greedy_decode_matches_teacher_forced_forward(decoder):
    """Step-wise generation (LSTM: last token + carried state) equals one full forward pass."""
    torch.manual_seed(3)
    cfg = AM.ModelConfig(decoder=decoder, n_frames=20, **TINY)
    model = AM.build_model(cfg).eval()
    audio = torch.randn(4, 80, 20)
    generated = AM.greedy_decode(model, audio)
    with torch.no_grad():
        logits = model(audio, generated[:, :-1])  # (B, 35, 98)
        latent = model.encode(audio)
        state, text, step_logits = None, generated[:, :1], []
        for t in range(98):
            out, state = model._dec.decode_step(generated[:, : t + 1], latent, state)
            step_logits.append(out)
    step_logits = torch.stack(step_logits, dim=-1)
    assert torch.allclose(step_logits, logits, atol=1e-5)
    assert torch.equal(logits.argmax(dim=1), generated[:, 1:])
    del text


def whisper_attention(att, x, mask=None):
    """Whisper's MultiHeadAttention.forward, written out: q, then k, then v, then attention."""
    q = att._query(x)
    k = att._key(x)
    v = att._value(x)
    n_batch, n_ctx, n_state = q.shape
    scale = (n_state // att._n_heads) ** -0.25
    q = q.view(*q.shape[:2], att._n_heads, -1).permute(0, 2, 1, 3) * scale
    k = k.view(*k.shape[:2], att._n_heads, -1).permute(0, 2, 3, 1) * scale
    v = v.view(*v.shape[:2], att._n_heads, -1).permute(0, 2, 1, 3)
    qk = q @ k
    if mask is not None:
        qk = qk + mask[:n_ctx, :n_ctx]
    w = torch.nn.functional.softmax(qk.float(), dim=-1).to(q.dtype)
    return att._out((w @ v).permute(0, 2, 1, 3).flatten(start_dim=2))


def test_self_attention_gradients_are_the_originals_bit_for_bit():
    """The three projections of one input are recorded in the original's order (q, k, v):
    autograd sums their gradients into the input in that order, so another order changes the
    training run's bits (it did once, when the KV cache came in)."""
    torch.manual_seed(0)
    att = AM.MultiHeadAttention(24, 2)
    x = torch.randn(3, 7, 24, requires_grad=True)
    mask = AM.causal_mask(7)
    grads = []
    for fn in (lambda: att(x, mask=mask), lambda: whisper_attention(att, x, mask)):
        x.grad = None
        fn().pow(2).sum().backward()
        grads.append(x.grad.clone())
    assert torch.equal(grads[0], grads[1])


@pytest.mark.parametrize("decoder", AM.DECODERS)
def test_kv_cache_gives_the_original_decodings_tokens(decoder):
    """The cached decode (the pipeline's) against the original's (prefix re-run, encoder output
    projected again every step): same tokens; LSTM logits bit for bit, Transformer to rounding."""
    torch.manual_seed(0)
    cfg = AM.ModelConfig(
        decoder=decoder, n_mels=8, n_frames=12, hidden_dim=16, n_heads=2, feed_forward_dim=32, text_len=12
    )
    model = AM.build_model(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():  # larger weights, so that the tokens vary along the sequence
            p.mul_(3)
        latent = model.encode(torch.randn(3, 8, 12))
    ref_text, ref_logits = AM.greedy_decode(model, latent=latent, cache=False, return_logits=True)
    text, logits = AM.greedy_decode(model, latent=latent, return_logits=True)
    assert torch.equal(text, AM.greedy_decode(model, latent=latent))
    assert len(set(ref_text[:, 1:].flatten().tolist())) > 1
    assert torch.equal(text, ref_text)
    if decoder == "lstm":
        assert torch.equal(logits, ref_logits)
    else:
        torch.testing.assert_close(logits, ref_logits, rtol=1e-5, atol=1e-5)


def test_transformer_cache_refuses_a_prefix_it_does_not_hold():
    torch.manual_seed(0)
    model = AM.build_model(AM.ModelConfig(decoder="transformer", n_frames=20, **TINY)).eval()
    with torch.no_grad():
        latent = model.encode(torch.randn(2, 80, 20))
        text = torch.zeros(2, 1, dtype=torch.long)
        _, state = model._dec.decode_step(text, latent)
        with pytest.raises(ValueError, match="KV cache holds 1 positions"):
            model._dec.decode_step(torch.zeros(2, 3, dtype=torch.long), latent, state)


def test_lstm_state_is_reset_per_call():
    torch.manual_seed(4)
    model = AM.build_model(AM.ModelConfig(decoder="lstm", n_frames=20, **TINY)).eval()
    audio = torch.randn(2, 80, 20)
    assert torch.equal(AM.greedy_decode(model, audio), AM.greedy_decode(model, audio))
    both = AM.greedy_decode(model, torch.cat([audio, audio]))
    assert torch.equal(both[:2], both[2:])


# --- schedule -----------------------------------------------------------------------------------


def test_schedule_per_epoch_matches_homework():
    s = config_settings(epochs=15)
    model = torch.nn.Linear(2, 2)
    opt = AT.build_optimizer(model, s)
    sch = AT.build_scheduler(opt, s)
    lrs = []
    for _ in range(15):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    expected = [1e-5, 1e-3 * (0.01 + 0.99 / 2)] + [1e-3 * (1 - 0.99 * k / 12) for k in range(13)]
    assert np.allclose(lrs, expected, rtol=1e-9, atol=1e-12)
    assert opt.defaults["weight_decay"] == 0.01


def test_loss_counts_padding_and_smooths():
    logits = torch.zeros(1, 35, 3)
    text = torch.tensor([[0, 9, 2, 2]])  # target `a@@`: padding counts, no ignore_index
    model = lambda a, t: logits  # noqa: E731
    loss = AT.teacher_forced_loss(model, None, text, 0.1)
    assert loss.item() == pytest.approx(math.log(35))


# --- training, resume, audio-blind --------------------------------------------------------------


def test_load_split_casts_per_batch_and_limits(feature_files):
    data = dataset.load_split(feature_files["train"], limit=5)
    assert len(data) == 5 and data.features.dtype == torch.float16 and data.n_frames == 24
    trainer = make_trainer(tiny_settings(train_clips=5), feature_files)
    audio, text = next(iter(trainer._loader("train", shuffle=False)))
    audio, _ = dataset.to_device(audio, text, trainer.device)
    assert audio.dtype == torch.float32


def test_load_split_rejects_bad_files(tmp_path):
    from hw2repro.errors import InputError

    bad = fake_split(3, 10, seed=0)
    bad["tokens"] = bad["tokens"][:, :50]
    torch.save(bad, tmp_path / "bad.pt")
    with pytest.raises(InputError, match="tokens"):
        dataset.load_split(tmp_path / "bad.pt")
    torch.save({"features": torch.zeros(2, 80, 10)}, tmp_path / "nokeys.pt")
    with pytest.raises(InputError, match="missing"):
        dataset.load_split(tmp_path / "nokeys.pt")


def test_tiny_training_lowers_the_loss(feature_files):
    trainer = make_trainer(tiny_settings("transformer", epochs=6, lr=1e-2, lr_start_factor=1.0), feature_files)
    rows = trainer.fit()
    assert len(rows) == 6
    assert rows[-1]["train_loss"] < rows[0]["train_loss"] - 0.3
    assert rows[-1]["val_loss"] < rows[0]["val_loss"]
    for r in rows:
        assert 0 <= r["val_jaccard"] <= 1 and 0 <= r["val_damerau_levenshtein"] <= 1


def test_training_log_gives_progress_eta_and_throughput(feature_files):
    """24 training clips in batches of 8: 3 steps per epoch, logged every 2 steps, each line alone."""
    messages = []
    trainer = make_trainer(tiny_settings("lstm", epochs=2), feature_files)
    trainer.log = messages.append
    trainer.fit()
    steps = [m for m in messages if m.startswith("[")]
    assert [m.split("]")[0] for m in steps] == ["[1/2,    2/3", "[2/2,    2/3"], steps
    for m in steps:
        assert re.fullmatch(
            r"\[\d/2, +\d/3\] loss: \d+\.\d{3}  \([\d.]+ s, epoch ETA [\d.]+ s, [\d.]+ samples/s\)", m
        ), m
    epochs = [m for m in messages if m.startswith("epoch ")]
    assert len(epochs) == 2 and all(
        re.search(r"training [\d.]+ samples/s, ETA \d+ s for the remaining", m) for m in epochs
    ), epochs
    assert all("\n" not in m for m in messages)  # one line per call: the job's tag on every line


def test_joblog_tags_every_line_of_a_message(tmp_path, capsys):
    log = joblog.JobLog(str(tmp_path / "job.log"), tag="[q3_train decoder=lstm seed=42]")
    log("first\nsecond")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("[q3_train decoder=lstm seed=42] [") for line in err), err
    assert [line.split("] ", 1)[1] for line in (tmp_path / "job.log").read_text().splitlines()] == ["first", "second"]


@pytest.mark.parametrize("decoder", AM.DECODERS)
def test_resume_after_interrupt_is_bit_identical(decoder, feature_files, tmp_path):
    settings = tiny_settings(decoder)
    # uninterrupted
    full = make_trainer(settings, feature_files, tmp_path / "a" / "resume.pt")
    full.fit()
    full_test, full_text = full.test()
    # "killed" after epoch 1, then a fresh process resumes
    part = make_trainer(settings, feature_files, tmp_path / "b" / "resume.pt")
    part.fit(stop_after_epochs=1)
    assert (tmp_path / "b" / "resume.pt").exists()
    del part
    resumed = make_trainer(settings, feature_files, tmp_path / "b" / "resume.pt")
    resumed.fit()
    assert resumed.history["segments"] == 2
    res_test, res_text = resumed.test()
    assert full.history["rows"] == resumed.history["rows"]
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    for k in ("state", "param_groups"):
        assert str(full.optimizer.state_dict()[k]) == str(resumed.optimizer.state_dict()[k])
    keys = [k for k in full_test if k.startswith(("test_", "audio_blind_"))]
    assert {k: full_test[k] for k in keys} == {k: res_test[k] for k in keys}
    assert full_text == res_text


def test_checkpoint_with_other_settings_is_ignored(feature_files, tmp_path):
    ckpt = tmp_path / "resume.pt"
    first = make_trainer(tiny_settings(epochs=2), feature_files, ckpt)
    first.fit(stop_after_epochs=1)
    messages = []
    other = make_trainer(tiny_settings(epochs=2, lr=1e-3), feature_files, ckpt)
    other.log = messages.append
    other.fit(stop_after_epochs=0)
    assert any("other settings" in m for m in messages)
    assert other.history["rows"] == []


def test_run_training_outputs_and_bitwise_resume(feature_files, tmp_path):
    settings = tiny_settings("lstm", epochs=2)
    env = {"device": "cpu:test"}

    def run(out, stop=None):
        setup_job(settings.seed, THREADS, allow_cuda=False)
        if stop is None:
            return job.run_training(settings, feature_files, out, torch.device("cpu"), env, THREADS, log=lambda m: None)
        data = {s: dataset.load_split(p) for s, p in feature_files.items()}
        AT.Trainer(settings, data, "cpu", out / "resume.pt", log=lambda m: None).fit(stop)

    result = run(tmp_path / "a")
    run(tmp_path / "b", stop=1)
    run(tmp_path / "b")
    for name in ("metrics.csv", "predictions.txt", "model.pt"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert not (tmp_path / "a" / "resume.pt").exists() and not (tmp_path / "b" / "resume.pt").exists()
    import json

    import pandas as pd

    frame = pd.read_csv(tmp_path / "a" / "metrics.csv")
    assert list(frame.columns) == AT.METRIC_COLUMNS and len(frame) == 2
    saved = json.loads((tmp_path / "a" / "test.json").read_text())
    for k in (
        "test_loss",
        "test_jaccard",
        "test_cosine",
        "test_damerau_levenshtein",
        "audio_blind_loss",
        "audio_blind_jaccard",
        "audio_blind_cosine",
        "audio_blind_damerau_levenshtein",
        "n_params",
        "wall_time_s",
        "device",
        "threads",
        "env",
    ):
        assert k in saved, k
    assert saved["n_test"] == 7 and result["audio_blind_derangement"]["fixed_points"] == 0
    text = (tmp_path / "a" / "predictions.txt").read_text()
    assert text.count("target: <") == 7 and text.count("pred:   <") == 7
    assert text.count("blind:  ") == 7


@pytest.mark.parametrize("n", [2, 3, 5, 16, 2620])
def test_derangement_has_no_fixed_points(n):
    perm = evaluate.derangement(n, seed=42)
    assert sorted(perm.tolist()) == list(range(n))
    assert not np.any(perm == np.arange(n))
    assert np.array_equal(perm, evaluate.derangement(n, seed=42))


def test_derangement_needs_two():
    with pytest.raises(ValueError):
        evaluate.derangement(1, 0)


def test_audio_blind_feeds_other_clips(feature_files):
    trainer = make_trainer(tiny_settings(), feature_files)
    perm = evaluate.derangement(7, 7)
    ds = dataset.PairDataset(trainer.data["test"], perm)
    for i in range(7):
        audio, text = ds[i]
        assert torch.equal(audio, trainer.data["test"].features[perm[i]])
        assert torch.equal(text, trainer.data["test"].tokens[i])


def test_comparison_text_follows_the_skeleton():
    target = encode("ab")
    t, p = evaluate.comparison_text(target, [0, 9, 10, 11])  # no `>`: last position overwritten
    assert t == "<ab>" and p == "<ab>"
    assert evaluate.comparison_text(target, [0, 9, 1, 10, 1])[1] == "<a>"


def test_aggregate_table_and_figures(feature_files, tmp_path):
    """q3_aggregate / q3_figures logic on two tiny runs: one row each, published rows beside."""
    from hw2repro import plotting, references
    from hw2repro.q3 import figures as q3_figures
    from hw2repro.q3 import summary as asr_report

    runs = []
    for decoder in AM.DECODERS:
        settings = tiny_settings(decoder, epochs=2)
        setup_job(settings.seed, THREADS, allow_cuda=False)
        out = tmp_path / f"{decoder}_seed7"
        job.run_training(
            settings, feature_files, out, torch.device("cpu"), {"device": "cpu"}, THREADS, log=lambda m: None
        )
        runs.append({"decoder": decoder, "seed": 7, "test": out / "test.json", "metrics": out / "metrics.csv"})
    summary, epochs = asr_report.aggregate(runs)
    assert list(summary["decoder"]) == ["lstm", "transformer"] and len(epochs) == 4
    assert {"test_jaccard", "audio_blind_jaccard", "audio_gain_jaccard"} <= set(summary.columns)
    refs_path = Path(__file__).resolve().parents[1] / "config" / "references.yaml"
    table = asr_report.results_table(summary, references.q3_test_table(refs_path))
    assert (table["source"].str.startswith("audio-blind")).sum() == 2
    assert (table["source"].str.contains("report B")).sum() == 2
    refs = references.load(refs_path)
    figures = [
        q3_figures.loss_figure(epochs, refs, plotting.SYNTHETIC_NOTE),
        q3_figures.similarity_figure(epochs, refs, plotting.SYNTHETIC_NOTE),
        q3_figures.results_table_figure(table, plotting.SYNTHETIC_NOTE),
    ]
    figures += list(q3_figures.original_run_plots(epochs[epochs["decoder"] == "lstm"]).values())
    for i, fig in enumerate(figures):
        plotting.save(fig, tmp_path / f"fig{i}.png")
        assert (tmp_path / f"fig{i}.png").stat().st_size > 0
