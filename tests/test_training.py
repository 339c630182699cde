"""Reader training: device plan, file parts, 'no answer' data, data hygiene, and a tiny-model run."""

import hashlib
import json
import os
import re

import pytest
from conftest import ROOT

from qa.offline.file_parts import (
    MIB,
    PartsError,
    join_parts,
    manifest_path,
    split_file,
    verify_file,
)
from qa.offline.squad import SquadExample, load_squad
from qa.offline.training_data import (
    DEFAULT_NEGATIVES,
    HELD_OUT_FILES,
    data_file,
    entity_swap_negatives,
    held_out_overlap,
    negation_negatives,
    parse_negatives,
    synthetic_negatives,
    training_examples,
)
from qa.precision import cpu_has_bf16
from qa.offline.training_device import DeviceFacts, plan_device

DATA = ROOT.parent / "shared" / "data"

# ---------------------------------------------------------------- device plan

H200 = DeviceFacts(cuda=True, cuda_bf16=True, gpu_memory_gib=139.8, cpu_bf16=True, cpu_count=16)


def test_gpu_plan_uses_cuda_bf16_big_batch_scaled_lr_and_workers():
    plan = plan_device(H200)
    assert (plan.device, plan.autocast_dtype, plan.batch_size) == ("cuda", "bfloat16", 128)
    assert plan.learning_rate == pytest.approx(1e-4 * (128 / 16) ** 0.5)
    assert plan.loader_workers == 8
    old_gpu = DeviceFacts(cuda=True, cuda_bf16=False, cpu_count=4)
    assert plan_device(old_gpu).autocast_dtype is None  # no fp16 without a loss scaler
    assert plan_device(old_gpu).loader_workers == 3


def test_cpu_plan_keeps_the_cpu_settings_and_bf16_only_where_native():
    plan = plan_device(DeviceFacts(cpu_bf16=False, cpu_count=2))
    assert (plan.device, plan.autocast_dtype, plan.batch_size, plan.loader_workers) == ("cpu", None, 16, 0)
    assert plan.learning_rate == pytest.approx(1e-4)
    assert plan_device(DeviceFacts(cpu_bf16=True)).autocast_dtype is None  # measured no faster: opt-in
    assert plan_device(DeviceFacts(cpu_bf16=True), cpu_bf16=True).autocast_dtype == "bfloat16"
    assert plan_device(DeviceFacts(cpu_bf16=False), cpu_bf16=True).autocast_dtype is None
    assert plan_device(H200, want="cpu").device == "cpu"


def test_plan_respects_what_is_asked_and_refuses_a_missing_gpu():
    plan = plan_device(H200, batch_size=64, learning_rate=5e-5)
    assert (plan.batch_size, plan.learning_rate) == (64, 5e-5)
    assert plan_device(H200, batch_size=1024).learning_rate == pytest.approx(3e-4)  # capped
    with pytest.raises(ValueError, match="no CUDA GPU"):
        plan_device(DeviceFacts(), want="cuda")
    with pytest.raises(ValueError, match="auto, cuda or cpu"):
        plan_device(H200, want="tpu")


def test_cpu_bf16_flag_is_read_from_cpuinfo_text():
    assert cpu_has_bf16("flags : fpu avx512f avx512_bf16 amx_tile")
    assert cpu_has_bf16("flags : amx_bf16")
    assert not cpu_has_bf16("flags : fpu avx2 avx512f")


# ---------------------------------------------------------------- file parts


def test_split_and_join_roundtrip_is_byte_identical(tmp_path):
    src = tmp_path / "model.safetensors"
    data = os.urandom(2 * MIB + 12345)
    src.write_bytes(data)
    manifest = split_file(src, part_bytes=MIB, out_dir=tmp_path / "moved")
    meta = json.loads(manifest.read_text())
    parts = sorted((tmp_path / "moved").glob("model.safetensors.part-*"))
    assert [p.name for p in parts] == ["model.safetensors.part-000", "model.safetensors.part-001", "model.safetensors.part-002"]
    assert all(p.stat().st_size <= MIB for p in parts)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest() and meta["size"] == len(data)
    assert verify_file(src, manifest) and not verify_file(manifest, manifest)
    joined = join_parts(manifest, remove_parts=True)
    assert joined.read_bytes() == data
    assert not list((tmp_path / "moved").glob("*.part-*")) and not manifest.exists()


def test_split_of_an_exact_multiple_has_no_empty_tail(tmp_path):
    src = tmp_path / "w.bin"
    src.write_bytes(os.urandom(2 * 4096))
    meta = json.loads(split_file(src, part_bytes=4096).read_text())
    assert [p["size"] for p in meta["parts"]] == [4096, 4096]
    src.unlink()
    assert join_parts(manifest_path(src)).stat().st_size == 2 * 4096


def test_join_detects_a_corrupted_or_missing_part_and_writes_nothing(tmp_path):
    src = tmp_path / "model.safetensors"
    src.write_bytes(os.urandom(3 * 1000 + 7))
    manifest = split_file(src, part_bytes=1000)
    src.unlink()
    part = tmp_path / "model.safetensors.part-001"
    good = part.read_bytes()
    part.write_bytes(good[:500] + bytes([good[500] ^ 1]) + good[501:])  # one flipped bit
    with pytest.raises(PartsError, match="part-001.*sha256"):
        join_parts(manifest)
    assert not src.exists() and not list(tmp_path.glob("*.joining"))
    part.unlink()
    with pytest.raises(PartsError, match="missing part"):
        join_parts(manifest)
    part.write_bytes(good)
    assert verify_file(join_parts(manifest), manifest)


def test_cli_join_reports_a_bad_part(tmp_path):
    from typer.testing import CliRunner

    from qa.cli import app

    src = tmp_path / "model.safetensors"
    src.write_bytes(os.urandom(5000))
    split_file(src, part_bytes=2048)
    src.unlink()
    (tmp_path / "model.safetensors.part-002").write_bytes(b"x")
    r = CliRunner().invoke(app, ["train-reader", "--join", str(tmp_path)])
    assert r.exit_code == 2 and "not joined" in r.output and "part-002" in r.output
    assert not src.exists()


# ---------------------------------------------------------------- negatives

ARTICLE_PARAS = [
    "Frederic Chopin was born in Zelazowa Wola in 1810. He moved to Paris in 1831 and taught piano there.",
    "George Sand met Chopin in 1836. Their home in Nohant hosted Eugene Delacroix every summer.",
    "The composer died in Paris in 1849 of tuberculosis, and was buried at Pere Lachaise.",
]
QUESTIONS = [
    (0, "In what year was Chopin born in Zelazowa Wola?", "1810"),
    (0, "Where did Chopin move in 1831?", "Paris"),
    (0, "Who was the teacher of piano in Paris?", "Frederic Chopin"),
    (1, "Who did Chopin meet in 1836?", "George Sand"),
    (1, "Who was the guest at Nohant every summer?", "Eugene Delacroix"),
    (2, "Where was Chopin buried?", "Pere Lachaise"),
    (2, "What was the cause of death of the composer in 1849?", "tuberculosis"),
]


def squad_json(paras=ARTICLE_PARAS, questions=QUESTIONS, title="Chopin", copies=1) -> dict:
    data = []
    for c in range(copies):
        paragraphs = []
        for i, ctx in enumerate(paras):
            qas = [
                {"id": f"{title}{c}-{i}-{k}", "question": q, "answers": [{"text": a, "answer_start": ctx.index(a)}]}
                for k, (p, q, a) in enumerate(questions) if p == i
            ]
            paragraphs.append({"context": ctx, "qas": qas})
        data.append({"title": f"{title} {c}", "paragraphs": paragraphs})
    return {"data": data}


@pytest.fixture
def tiny_squad(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(squad_json()))
    return load_squad(path)


def test_entity_swap_makes_on_topic_questions_the_paragraph_cannot_answer(tiny_squad):
    swaps = entity_swap_negatives(tiny_squad, rate=1.0, seed=0)
    assert len(swaps) >= 4
    originals = {ex.qid: ex for ex in tiny_squad}
    for neg in swaps:
        orig = originals[neg.qid.removesuffix("_swap")]
        assert neg.is_impossible and neg.answers == [] and neg.answer_starts == []
        assert neg.context == orig.context and neg.question != orig.question
        # Exactly one entity changed: the new one is from the article but not in this paragraph.
        new_words = set(re.findall(r"[\w']+", neg.question)) - set(re.findall(r"[\w']+", orig.question))
        assert new_words and all(w.lower() not in neg.context.lower() for w in new_words)
        assert any(w in " ".join(ARTICLE_PARAS) for w in new_words)


def test_negation_only_where_the_paragraph_has_no_negation(tiny_squad):
    negs = negation_negatives(tiny_squad, rate=1.0, seed=0)
    assert {n.question for n in negs} == {
        "Who was not the teacher of piano in Paris?", "Who was not the guest at Nohant every summer?",
        "What was not the cause of death of the composer in 1849?",
    }
    assert all(n.is_impossible for n in negs)
    with_not = [SquadExample("x", "t", "Who was the guest?", "Delacroix was not a guest; Liszt was.", ["Liszt"], [29])]
    assert negation_negatives(with_not, rate=1.0, seed=0) == []


def test_other_paragraph_negatives_lack_the_answer(tiny_squad):
    negs = synthetic_negatives(tiny_squad, rate=1.0, seed=0)
    originals = {ex.qid: ex for ex in tiny_squad}
    assert len(negs) >= 5
    for neg in negs:
        orig = originals[neg.qid.removesuffix("_neg")]
        assert neg.is_impossible and neg.context != orig.context
        assert orig.answers[0].lower() not in neg.context.lower()


def test_training_examples_mix_and_unknown_sources(tmp_path):
    train = tmp_path / "squad" / "train-v1.1.json"
    train.parent.mkdir()
    train.write_text(json.dumps(squad_json(copies=2)))
    (tmp_path / "extra").mkdir()
    subj = squad_json(title="books")
    subj["data"][0]["paragraphs"][0]["qas"].append({"id": "books-none", "question": "Is the plot good?", "answers": [], "is_impossible": True})
    import lzma  # a compressed file is read as its plain form (how data travels to a GPU machine)

    (tmp_path / "extra" / "subjqa.json.xz").write_bytes(lzma.compress(json.dumps(subj).encode()))
    examples, counts = training_examples([str(train)], ["other-paragraph", "swap", "subjqa"], tmp_path)
    assert counts["train"] == 14 and counts["subjqa"] == 8
    assert counts["unanswerable"] == sum(ex.is_impossible for ex in examples) == counts["other-paragraph"] + counts["swap"] + 1
    assert len(examples) == sum(v for k, v in counts.items() if k != "unanswerable")
    for ex in examples:
        assert ex.is_impossible == (ex.answers == [])
    with pytest.raises(ValueError, match="unknown negative source.*known: other-paragraph"):
        parse_negatives("subjqa,squad2")
    assert parse_negatives("none") == [] and parse_negatives("swap, swap") == ["swap"]
    with pytest.raises(FileNotFoundError):
        training_examples([str(train)], ["molweni"], tmp_path)


def test_held_out_overlap_catches_shared_ids_and_shared_paragraphs(tiny_squad):
    held = [SquadExample("dev-1", "Dev", "Who?", "A dev paragraph.", ["A"], [0])]
    clean = tiny_squad + [SquadExample("t-9", "T", "Who?", "Another paragraph.")]
    assert held_out_overlap(clean, held) == []
    same_paragraph = SquadExample("fresh-id", "T", "What is it?", " A dev paragraph. ")
    same_id = SquadExample("dev-1_swap", "T", "Who not?", "Other text.")
    assert held_out_overlap(clean + [same_paragraph, same_id], held) == ["fresh-id", "dev-1_swap"]


@pytest.mark.skipif(not (DATA / "squad" / "train-v1.1.json").exists(), reason="needs ../shared/data (SQuAD and extra sets)")
def test_default_training_data_never_holds_validation_or_test_questions_or_paragraphs():
    examples, counts = training_examples([str(DATA / "squad/train-v1.1.json")], list(DEFAULT_NEGATIVES), DATA)
    assert counts["subjqa"] == 7890 and counts["molweni"] == 2871
    assert counts["unanswerable"] >= 3104 + 311 + counts["other-paragraph"] + counts["swap"] + counts["negation"]
    held_out = [ex for f in HELD_OUT_FILES for ex in load_squad(data_file(DATA, f))]
    assert held_out_overlap(examples, held_out) == []
    # The check itself catches the old mix: v2.0 validation articles in training.
    legacy, _ = training_examples([], ["v2-validation"], DATA)
    assert len(held_out_overlap(legacy, held_out)) == len(legacy) > 0


# ---------------------------------------------------------------- a tiny training run


def test_tiny_model_trains_checkpoints_resumes_with_the_documented_lr_and_exports_in_parts(tiny_reader, tmp_path):
    from safetensors.torch import load_file

    from qa.offline.training import TrainConfig, export, learning_rate_at, train

    train_file = tmp_path / "train.json"
    train_file.write_text(json.dumps(squad_json(copies=6)))
    work = tmp_path / "run"
    cfg = TrainConfig(
        base_model=tiny_reader, train_files=[str(train_file)], data_dir=str(tmp_path),
        negatives=["other-paragraph", "swap"], max_length=64, stride=16,
        batch_size=8, learning_rate=3e-3, total_steps=40, checkpoint_every=10, device="cpu",
    )
    cpu = DeviceFacts(cpu_bf16=False, cpu_count=1)
    ckpt = train(cfg, work, facts=cpu, stop_at_step=30)  # an interruption at step 30
    import torch

    state = torch.load(ckpt, weights_only=False)
    assert state["step"] == 30
    log = [json.loads(line) for line in (work / "train.log").read_text().splitlines()]
    assert [r["step"] for r in log] == [20, 30] and log[-1]["loss"] < log[0]["loss"]
    per_epoch = -(-len(load_file_len(work)) // 8)
    assert (work / "epoch-1.safetensors").exists() and per_epoch <= 30

    # Resume with a longer run: the next step uses the new schedule's rate at step 30.
    longer = TrainConfig(total_steps=60, device="cpu")
    train(longer, work, facts=cpu, stop_at_step=31)
    saved = json.loads((work / "config.json").read_text())
    assert saved["total_steps"] == 60 and saved["learning_rate"] == 3e-3 and saved["negatives"] == ["other-paragraph", "swap"]
    log = [json.loads(line) for line in (work / "train.log").read_text().splitlines()]
    assert log[-2] == {"resumed_at": 30, "total_steps": 60, "lr": pytest.approx(learning_rate_at(30, 3e-3, 60, 0.06))}
    assert log[-1]["step"] == 31
    assert log[-1]["lr"] == pytest.approx(learning_rate_at(31, 3e-3, 60, 0.06))
    state = torch.load(work / "last.pt", weights_only=False)
    assert state["step"] == 31
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(learning_rate_at(31, 3e-3, 60, 0.06))
    # What the README says: warm restart at lr*(T-s)/(T-w), w = int(0.06*T) = 3.
    assert learning_rate_at(30, 3e-3, 60, 0.06) == pytest.approx(3e-3 * 30 / 57)

    train(TrainConfig(device="cpu"), work, facts=cpu, time_limit_s=0)  # out of time after one step
    assert torch.load(work / "last.pt", weights_only=False)["step"] == 32

    out = export(work, tmp_path / "reader", split_mib=0.01)  # tiny model: parts of ~10 KiB
    parts = sorted(out.glob("model.safetensors.part-*"))
    assert len(parts) > 1 and not (out / "model.safetensors").exists()
    join_parts(manifest_path(out / "model.safetensors"))
    weights = load_file(str(out / "model.safetensors"))
    assert all(v.dtype == torch.float16 for v in weights.values() if v.is_floating_point())
    trained = torch.load(work / "last.pt", weights_only=False)["model"]
    name = "qa_outputs.weight"
    assert torch.allclose(weights[name].float(), trained[name], atol=1e-3)
    record = json.loads((out / "training.json").read_text())
    assert record["steps"] == 32 and record["training_data"]["swap"] > 0
    assert record["train_files"] == [str(train_file)] and record["negative_files"] == []


def load_file_len(work):
    import numpy as np

    return np.load(work / "features.npz")["start"]


def test_gpu_script_end_to_end_on_cpu_with_a_tiny_model(tiny_reader, tmp_path):
    """tools/train_gpu.py as the GPU machine runs it (qa's __init__ not imported), on CPU."""
    import subprocess
    import sys

    data = tmp_path / "data"
    (data / "squad").mkdir(parents=True)
    (data / "squad" / "train-v1.1.json").write_text(json.dumps(squad_json(copies=4)))
    (data / "squad" / "validation-v1.1.json").write_text(json.dumps(squad_json(title="Val")))
    v2 = squad_json(title="Val2")
    v2["data"][0]["paragraphs"][0]["qas"].append({"id": "v2-none", "question": "Who was the mayor?", "answers": [], "is_impossible": True})
    (data / "squad" / "validation-v2.0.json").write_text(json.dumps(v2))
    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools/train_gpu.py"), "--allow-cpu", "--init", tiny_reader, "--data", str(data),
         "--out", str(out), "--work", str(tmp_path / "work"), "--epochs", "2", "--batch-size", "8",
         "--negatives", "other-paragraph,swap", "--split-mib", "1"],
        check=False, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": ""},
    )
    assert r.returncode == 0, r.stderr[-3000:]
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8 and "validation.json" in files and "reader-files.tar" in files
    result = json.loads((out / "validation.json").read_text())
    assert set(result["scores"]) == {"init", "epoch-1", "epoch-2"} and result["chosen"] in ("epoch-1", "epoch-2")
    assert 0 <= result["scores"]["epoch-2"]["v1.1_f1"] <= 100
    joined = join_parts(out / "model.safetensors.parts.json")
    import tarfile

    with tarfile.open(out / "reader-files.tar") as tar:
        names = tar.getnames()
        record = json.load(tar.extractfile("training.json"))
    assert {"config.json", "tokenizer.json", "training.json"} <= set(names)
    # Named as where the model is used (what qa.offline.evaluation.trained_titles opens), not the run's copy.
    assert record["train_files"] == ["../shared/data/squad/train-v1.1.json"] and record["negative_files"] == []
    assert joined.stat().st_size == json.loads((out / "model.safetensors.parts.json").read_text())["size"]


def test_cli_train_reader_refuses_bad_options_with_clear_messages(tmp_path):
    from typer.testing import CliRunner

    from qa.cli import app

    def run(*args):
        return CliRunner().invoke(app, ["train-reader", "--work-dir", str(tmp_path / "run"), *args])

    r = run("--negatives", "subjqa,squad2")
    assert r.exit_code == 2 and "unknown negative source(s) squad2" in r.output
    r = run("--init", str(tmp_path / "nowhere"))
    assert r.exit_code == 2 and "no model there" in r.output
    r = run("--data", str(tmp_path / "nodata"))
    assert r.exit_code == 2 and "training data" in r.output and "train-v1.1.json" in r.output
    import torch

    if not torch.cuda.is_available():
        (tmp_path / "d" / "squad").mkdir(parents=True)
        (tmp_path / "d" / "squad" / "train-v1.1.json").write_text(json.dumps(squad_json()))
        r = run("--data", str(tmp_path / "d"), "--device", "cuda")
        assert r.exit_code == 2 and "no CUDA GPU" in r.output
    assert not (tmp_path / "run").exists()  # nothing was started


def test_gpu_script_scores_like_the_shipped_reader_code(tiny_reader, tmp_path):
    """The GPU script's device wrapper decodes exactly as qa.reader does (here on CPU)."""
    import importlib.util

    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from qa.offline.evaluation import reader_margins
    from qa.reader import Reader

    spec = importlib.util.spec_from_file_location("train_gpu", ROOT / "tools" / "train_gpu.py")
    train_gpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_gpu)
    path = tmp_path / "v.json"
    path.write_text(json.dumps(squad_json()))
    examples = load_squad(path)
    model = AutoModelForQuestionAnswering.from_pretrained(tiny_reader)
    wrapped = train_gpu.device_reader(model, AutoTokenizer.from_pretrained(tiny_reader), batch_size=3)
    plain = Reader(tiny_reader)
    plain.warm_up()
    got, want = reader_margins(wrapped, examples, show_progress=False), reader_margins(plain, examples, show_progress=False)
    assert [t for t, _ in got] == [t for t, _ in want]
    assert [m for _, m in got] == pytest.approx([m for _, m in want], abs=1e-4)
    scores = train_gpu.validation_scores(wrapped, examples, examples)
    assert scores["select"] == pytest.approx((scores["v1.1_f1"] + scores["v2.0_f1_best_threshold"]) / 2, abs=0.01)
