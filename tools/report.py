"""The report of one experiment from a results store: a Markdown file with the paper's
tables (probe accuracy by layer, best layer, pretraining gain, low-data probes,
fine-tuning and its epochs, AR vs BERT, raw-pixel baseline) and figures drawn with
matplotlib (probe accuracy vs layer, probe accuracy vs validation loss, fine-tuning val
accuracy by epoch, training curves, AR vs BERT bars), then every other evaluator's
results and every other recorded metric, a plugin's included (from the store alone),
plus the completion grids `workbench sample` wrote. `workbench report` runs it.

    python3 tools/report.py --db results/results.db --experiment NAME --out DIR

Only finished runs count; where a config was run again (--force) the latest is used.
Exits 1 with a message when the experiment has no finished run.
"""
import argparse
import glob
import os
import re
import sqlite3
import sys
import tomllib
from collections import defaultdict

try:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
except ImportError:
    sys.exit(f"report: {sys.executable} has no matplotlib (Debian: python3-matplotlib, which "
             "bash tools/setup.sh installs; WORKBENCH_PYTHON picks another Python)")


def latest_runs(db, experiment):
    """name -> (run id, config text): the latest finished run of each distinct config,
    named by its label, with its config hash added where labels repeat (a --set); and
    name -> its run's label as stored."""
    # The store's one definition of the runs that count (view latest_runs), in the
    # order each config first ran.
    rows = db.execute(
        "SELECT l.label, l.config_hash, l.run_id, l.config FROM latest_runs l "
        "WHERE l.experiment = ? ORDER BY (SELECT MIN(x.id) FROM runs x "
        "WHERE x.config_hash = l.config_hash)", (experiment,)).fetchall()
    count = defaultdict(int)
    for label, *_ in rows:
        count[label] += 1
    name = {h: label if count[label] == 1 else f"{label} {h[:8]}" for label, h, _, _ in rows}
    return ({name[h]: (run, config) for _, h, run, config in rows},
            {name[h]: label for label, h, _, _ in rows})


def config_without_seed(config):
    """The resolved config without its [experiment] seed line: runs whose configs are
    equal this way differ in their seed alone (as `results table` groups them)."""
    out, section = [], None
    for line in config.splitlines():
        if line.startswith("["):
            section = line
        if section == "[experiment]" and line.startswith("seed = "):
            continue
        out.append(line)
    return "\n".join(out)


def seed_groups(runs, labels, by_seed):
    """group name -> the names of its runs: runs that differ only in their seed are one
    group, named by their stored label (`labels`) without a swept seed and their count
    ("default (n=3)"); a run alone keeps its name. by_seed: every run its own group."""
    members = defaultdict(list)
    for label, (_, config) in runs.items():
        members[label if by_seed else config_without_seed(config)].append(label)
    out = {}
    for names in members.values():
        if len(names) == 1:
            out[names[0]] = names
        else:
            name = " ".join(w for w in labels[names[0]].split()
                            if not w.startswith("experiment.seed=")) or "default"
            out[f"{name} (n={len(names)})"] = names
    return out


def mean_std(values):
    """(mean, sample standard deviation; 0 for one value)."""
    m = sum(values) / len(values)
    sd = (sum((v - m) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0
    return m, sd


def pct_group(values):
    """A group's accuracies in %: "mean ± std" for several, the value for one."""
    if not values:
        return ""
    if len(values) == 1:
        return pct(values[0])
    m, sd = mean_std(values)
    return f"{100 * m:.2f} ± {100 * sd:.2f}"


def section_value(config, section, key):
    """A key's value in a run's canonical TOML config, as text (None when absent)."""
    value = tomllib.loads(config).get(section, {}).get(key)
    return None if value is None else str(value)


def results(db, run, evaluator, metric):
    """(evaluator hash, layer, split) -> value."""
    return {(h, layer, split): value for h, layer, split, value in db.execute(
        "SELECT evaluator_hash, layer, split, value FROM results WHERE run_id = ? AND "
        "evaluator = ? AND metric = ?", (run, evaluator, metric))}


def full_probe(db, run, metric="accuracy"):
    """layer -> {split: accuracy} of the run's full-data linear probe (no `metric`_std):
    `metric` "accuracy" for the paper's feature, "grid<g>_accuracy" for pool_grid = g."""
    low = {h for (h, _, _) in results(db, run, "linear_probe", metric + "_std")}
    out = defaultdict(dict)
    for (h, layer, split), v in results(db, run, "linear_probe", metric).items():
        if h not in low:
            out[layer][split] = v
    return dict(sorted(out.items()))


def probe_grids(db, run):
    """The grids g > 1 the run's linear probes pooled over (pool_grid: rows named
    "grid<g>_accuracy"), in increasing order."""
    return sorted(int(m.group(1)) for (metric,) in db.execute(
        "SELECT DISTINCT metric FROM results WHERE run_id = ? AND evaluator = 'linear_probe'",
        (run,)) for m in [re.fullmatch(r"grid(\d+)_accuracy", metric)] if m)


def metric_series(db, run, name):
    return db.execute("SELECT step, value FROM metrics WHERE run_id = ? AND name = ? "
                      "ORDER BY step", (run, name)).fetchall()


def training_series(db, run, name):
    """A pretraining metric of the run or, when it reused a cached checkpoint (and so
    trained nothing), of the latest run that trained that checkpoint."""
    series = metric_series(db, run, name)
    if series:
        return series
    trainer = db.execute(
        "SELECT m.run_id FROM metrics m JOIN artifacts a ON a.run_id = m.run_id WHERE "
        "a.kind = 'checkpoint' AND a.key IN (SELECT key FROM artifacts WHERE run_id = ? AND "
        "kind = 'checkpoint') AND m.name = ? ORDER BY m.run_id DESC LIMIT 1",
        (run, name)).fetchone()
    return metric_series(db, trainer[0], name) if trainer else []


def pct(v):
    return "" if v is None else f"{100 * v:.2f}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def figure(path, draw, integer_x=False):
    fig, ax = plt.subplots(figsize=(6, 4))
    draw(ax)
    if integer_x:  # layers
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def open_read_only(path):
    """The store, read-only: mode=ro, or immutable=1 for a store in a folder nobody may
    write (its WAL files cannot be made there, so nobody writes the store either)."""
    for mode in ("mode=ro", "immutable=1"):
        db = sqlite3.connect(f"file:{path}?{mode}", uri=True)
        try:
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.Error as e:
            error = e
    sys.exit(f"report: {path}: cannot read as a results store: {error}")


# The evaluators and metrics the sections above draw; every other one, a plugin's
# included, gets the generic sections below, from the store alone.
BUNDLED_EVALUATORS = ("linear_probe", "finetune", "mask_ensemble")
DRAWN_METRICS = ("train/loss", "train/val_loss")


def file_name(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def other_evaluators(db, runs, out, md):
    """Each other evaluator's results: a table of every row, and per metric with layers a
    figure of its value against the layer (test split, else the first there is)."""
    rows, by_metric = [], defaultdict(lambda: defaultdict(dict))
    for label, (run, _) in runs.items():
        for evaluator, metric, layer, split, value in db.execute(
                "SELECT evaluator, metric, layer, split, value FROM results WHERE run_id = ? "
                f"AND evaluator NOT IN ({','.join('?' * len(BUNDLED_EVALUATORS))}) "
                "ORDER BY evaluator, metric, split, layer", (run, *BUNDLED_EVALUATORS)):
            split = split or ""
            whole = layer is None or layer < 0  # a whole-model number, not a layer's
            rows.append([label, evaluator, metric, "" if whole else layer, split,
                         "" if value is None else f"{value:.4g}"])
            if not whole and value is not None:
                by_metric[(evaluator, metric)][(label, split)][layer] = value
    if not rows:
        return
    md.append("## Other evaluators' results\n")
    md.append(table(["run", "evaluator", "metric", "layer", "split", "value"], rows))
    for (evaluator, metric), series in by_metric.items():
        splits = {split for (_, split) in series}
        split = "test" if "test" in splits else sorted(splits)[0]

        def draw(ax, series=series, split=split, evaluator=evaluator, metric=metric):
            for (label, s), values in series.items():
                if s == split:
                    ax.plot(list(values), list(values.values()), marker="o", label=label)
            ax.set_xlabel("layer")
            ax.set_ylabel(f"{evaluator} {metric} ({split})")
            ax.legend(fontsize=8)
        name = file_name(f"evaluator_{evaluator}_{metric}.png")
        figure(os.path.join(out, name), draw, integer_x=True)
        md.append(f"![{evaluator} {metric} by layer]({name})\n")


def other_metrics(db, runs, out, md):
    """Every other recorded metric (a plugin's too): its last, smallest and largest value
    per run, each at its step (the best, whichever way is better), and its curve."""
    names = set()
    for _, (run, _) in runs.items():
        names |= {n for (n,) in db.execute("SELECT DISTINCT name FROM metrics WHERE run_id = ?",
                                            (run,))}
    # Fine-tuning's epochs have their own section ("finetune/...", "finetune#2/...").
    names = sorted(n for n in names
                   if n not in DRAWN_METRICS and n.split("/")[0].split("#")[0] != "finetune")
    rows, curves = [], {}
    for name in names:
        for label, (run, _) in runs.items():
            series = training_series(db, run, name) if name.startswith("train/") \
                else metric_series(db, run, name)
            if series:
                last, low, high = series[-1], min(series, key=lambda p: (p[1], p[0])), \
                    max(series, key=lambda p: (p[1], -p[0]))
                rows.append([label, name, len(series), f"{last[1]:.4g} @{last[0]}",
                             f"{low[1]:.4g} @{low[0]}", f"{high[1]:.4g} @{high[0]}"])
                curves.setdefault(name, {})[label] = series
    if not rows:
        return
    md.append("## Every other recorded metric\n")
    md.append(table(["run", "metric", "points", "last", "smallest", "largest"], rows))
    for name, by_run in curves.items():
        if max(len(s) for s in by_run.values()) < 2:
            continue  # one point: the table says it

        def draw(ax, by_run=by_run, name=name):
            for label, series in by_run.items():
                ax.plot(*zip(*series), label=label)
            ax.set_xlabel("step")
            ax.set_ylabel(name)
            ax.legend(fontsize=8)
        path = file_name(f"metric_{name}.png")
        figure(os.path.join(out, path), draw)
        md.append(f"![{name}]({path})\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--experiment", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--by-seed", action="store_true",
                    help="every run apart, not runs that differ only in seed as mean ± std")
    args = ap.parse_args()
    if not os.path.exists(args.db):
        sys.exit(f"report: {args.db}: no results store there")
    db = open_read_only(args.db)
    runs, stored_labels = latest_runs(db, args.experiment)
    if not runs:
        sys.exit(f"report: no finished run of experiment '{args.experiment}' in {args.db}")
    os.makedirs(args.out, exist_ok=True)
    md = [f"# Experiment `{args.experiment}`\n",
          f"From `{args.db}`: the latest finished run of each of its {len(runs)} "
          f"configuration(s). Accuracies in %.\n"]
    probes = {label: full_probe(db, run) for label, (run, _) in runs.items()}
    # Probes on region means (pool_grid), beside the paper's feature: their own
    # columns and lines, never merged into the runs' probe curves.
    region_probes = {f"{label} ({g}x{g} regions)": full_probe(db, run, f"grid{g}_accuracy")
                     for label, (run, _) in runs.items() for g in probe_grids(db, run)}
    region_probes = {name: p for name, p in region_probes.items() if p}

    # The raw-pixel probe of each run that has one: the baseline its features must beat.
    # A list: a run may hold several (one per pixel-probe evaluator).
    pixels = [(label, v) for label, (run, _) in runs.items()
              for (_, _, split), v in results(db, run, "linear_probe", "pixel_accuracy").items()
              if split == "test"]

    # Probe accuracy by layer, and the figure of it (raw pixels as dashed lines). Runs
    # that differ only in their seed are one column and one line, mean ± std over the
    # seeds, their band shaded (--by-seed: apart).
    groups = seed_groups(runs, stored_labels, args.by_seed)
    probe_curves = {**probes, **region_probes}
    grouped = {}  # name -> layer -> the test accuracies of its runs
    for name, labels in groups.items():
        for suffix in [""] + sorted({k[len(labels[0]):] for k in region_probes
                                     if k.startswith(labels[0] + " (")}):
            by_layer = defaultdict(list)
            for label in labels:
                for layer, acc in probe_curves.get(label + suffix, {}).items():
                    if "test" in acc:
                        by_layer[layer].append(acc["test"])
            if by_layer:
                grouped[name + suffix] = dict(sorted(by_layer.items()))
    layers = sorted({layer for p in grouped.values() for layer in p})
    if layers:
        md.append("## Linear probe by layer (test)\n")
        md.append(table(["layer"] + list(grouped),
                        [[layer] + [pct_group(grouped[name].get(layer, [])) for name in grouped]
                         for layer in layers]))

        def draw(ax):
            colours = {}  # each run's pixel line in its probe curve's colour
            for name, p in grouped.items():
                xs = list(p)
                stats = [mean_std(p[layer]) for layer in xs]
                line, = ax.plot(xs, [100 * m for m, _ in stats], marker="o", label=name,
                                linestyle=":" if "regions)" in name else "-")
                if max(len(v) for v in p.values()) > 1:  # the seeds' spread
                    ax.fill_between(xs, [100 * (m - sd) for m, sd in stats],
                                    [100 * (m + sd) for m, sd in stats],
                                    color=line.get_color(), alpha=0.2)
                for label in groups.get(name, []):
                    colours.setdefault(label, line.get_color())
            for label, v in pixels:
                ax.axhline(100 * v, linestyle="--", color=colours.get(label, "grey"),
                           label=f"{label}: raw pixels")
            ax.set_title("Linear probe accuracy by layer (test)")
            ax.set_xlabel("layer (0 = embedding)")
            ax.set_ylabel("probe test accuracy (%)")
            ax.legend(fontsize=8)
        figure(os.path.join(args.out, "probe_by_layer.png"), draw, integer_x=True)
        md.append("![probe accuracy by layer](probe_by_layer.png)\n")

    # Best layer (chosen on val) beside the final validation loss, and their figure.
    # Runs that differ only in their seed are one row (their layers listed, accuracies
    # and bits as mean ± std) where each has one best layer per grid.
    rows, points, entries = [], [], defaultdict(list)  # (label, grid) -> [(layer, val, test, bits)]
    for label, (run, _) in runs.items():
        # The checkpoint on the whole validation split; stores written before it was
        # recorded have only the periodic figure (a subset), the last of which is used.
        val = (metric_series(db, run, "train/final_val_bits_per_dim")
               or training_series(db, run, "train/val_bits_per_dim"))
        bits = val[-1][1] if val else None
        for g in [1] + probe_grids(db, run):
            prefix = "" if g == 1 else f"grid{g}_"
            best = results(db, run, "linear_probe", prefix + "best_layer")
            acc = results(db, run, "linear_probe", prefix + "best_layer_accuracy")
            for (h, _, _), layer in best.items():
                test = acc.get((h, -1, "test"))
                entries[(label, g)].append((int(layer), acc.get((h, -1, "val")), test, bits))
                if g == 1 and bits is not None and test is not None:
                    points.append((bits, 100 * test, label))
    for name, labels in groups.items():
        for g in sorted({g for (label, g) in entries if label in labels}):
            suffix = "" if g == 1 else f" ({g}x{g} regions)"
            mine = [entries.get((label, g), []) for label in labels]
            if len(labels) > 1 and all(len(e) == 1 for e in mine):
                best = [e[0] for e in mine]
                bits = [b for *_, b in best if b is not None]
                m, sd = mean_std(bits) if bits else (None, None)
                rows.append([name + suffix, ", ".join(str(layer) for layer, *_ in best),
                             pct_group([v for _, v, _, _ in best if v is not None]),
                             pct_group([t for _, _, t, _ in best if t is not None]),
                             "" if m is None else f"{m:.4f} ± {sd:.4f}"])
                continue
            for label, e in zip(labels, mine):
                for layer, v, t, b in e:
                    rows.append([label + suffix, layer, pct(v), pct(t),
                                 "" if b is None else f"{b:.4f}"])
    if rows:
        md.append("## Best layer (chosen on validation)\n")
        md.append(table(["run", "layer", "val", "test", "val bits/dim"], rows))
    if len(points) > 1:
        def draw(ax):
            for bits, acc, label in points:
                ax.scatter(bits, acc)
                ax.annotate(label, (bits, acc), fontsize=7)
            ax.set_xlabel("validation bits per dimension")
            ax.set_ylabel("best-layer probe test accuracy (%)")
        figure(os.path.join(args.out, "probe_vs_loss.png"), draw)
        md.append("![probe accuracy vs validation loss](probe_vs_loss.png)\n")

    # The random-init control (training.steps = 0) against each trained run.
    controls = [label for label, (_, cfg) in runs.items()
                if section_value(cfg, "training", "steps") == "0"]
    if controls and len(runs) > len(controls):
        md.append("## Gain from pretraining (test, points over the random-init control)\n")
        rows = []
        for label, (_, cfg) in runs.items():
            if label in controls:
                continue
            # Its control: same model size, same seed.
            model = [c for c in controls
                     if all(section_value(runs[c][1], sec, key) == section_value(cfg, sec, key)
                            for sec, key in (("model", "size"), ("experiment", "seed")))]
            if not model:
                continue
            # The paper's feature against the control's, and each region-mean probe
            # against the control's of the same grid.
            for suffix in [""] + [name[len(label):] for name in region_probes
                                  if name.startswith(label + " (")]:
                trained = probe_curves[label + suffix]
                control = probe_curves.get(model[0] + suffix, {})
                for layer, acc in trained.items():
                    if "test" in acc and "test" in control.get(layer, {}):
                        rows.append([label + suffix, layer, pct(acc["test"]),
                                     pct(control[layer]["test"]),
                                     f"{100 * (acc['test'] - control[layer]['test']):+.2f}"])
        md.append(table(["run", "layer", "pretrained", "random init", "gain"], rows))

    # Low-data probes: mean ± std over subsets.
    rows = []
    for label, (run, _) in runs.items():
        std = results(db, run, "linear_probe", "accuracy_std")
        acc = results(db, run, "linear_probe", "accuracy")
        for (h, layer, split), s in sorted(std.items()):
            if split == "test":
                rows.append([label, h, layer, f"{pct(acc[(h, layer, split)])} ± {pct(s)}"])
    if rows:
        md.append("## Low-data probes (test, mean ± std over subsets; one evaluator hash "
                  "per labels-per-class setting)\n")
        md.append(table(["run", "probe", "layer", "accuracy"], rows))

    # Layers concatenated (the linear probe's `concat`): the window starts at the
    # `concat_first_layer` row and is centred on the best layer.
    rows = []
    for label, (run, _) in runs.items():
        first = results(db, run, "linear_probe", "concat_first_layer")
        concat = results(db, run, "linear_probe", "concat_accuracy")
        for (h, best, split), v in sorted(concat.items()):
            if split == "test":
                start = first.get((h, best, "val"))
                rows.append([label, best, "" if start is None else int(start), pct(v)])
    if rows:
        md.append("## Layers concatenated (test)\n")
        md.append(table(["run", "best layer", "first layer", "accuracy"], rows))

    # Raw-pixel baseline.
    rows = [[label, pct(v)] for label, v in pixels]
    if rows:
        md.append("## Raw-pixel probe (test)\n")
        md.append(table(["run", "accuracy"], rows))

    # Fine-tuning and the mask ensemble.
    rows = []
    for label, (run, _) in runs.items():
        for evaluator, metric in (("finetune", "accuracy"), ("finetune", "accuracy_ensemble"),
                                  ("mask_ensemble", "accuracy_single_mask"),
                                  ("mask_ensemble", "accuracy_ensemble")):
            for (h, layer, split), v in sorted(results(db, run, evaluator, metric).items()):
                if split == "test":
                    rows.append([label, evaluator, metric, layer, pct(v)])
    if rows:
        md.append("## Fine-tuning and the mask ensemble (test)\n")
        md.append(table(["run", "evaluator", "metric", "layer", "accuracy"], rows))

    # Fine-tuning epoch by epoch: each evaluator's per-epoch metrics ("finetune",
    # "finetune#2", ... when a run fine-tunes more than once), the val accuracy drawn.
    curves = {}
    for label, (run, _) in runs.items():
        for (name,) in db.execute(
                "SELECT DISTINCT name FROM metrics WHERE run_id = ? AND name LIKE "
                "'%/val_accuracy' AND name NOT LIKE 'train/%' ORDER BY 1", (run,)):
            prefix = name.rsplit("/", 1)[0]
            curves[(label, prefix)] = {
                metric: dict(metric_series(db, run, f"{prefix}/{metric}"))
                for metric in ("val_accuracy", "train_loss", "lr")}
    if curves:
        md.append("## Fine-tuning by epoch (val accuracy, mean train loss, rate at the "
                  "epoch's end)\n")
        rows = [[label, prefix, epoch, pct(m["val_accuracy"][epoch]),
                 f"{m['train_loss'][epoch]:.4f}" if epoch in m["train_loss"] else "",
                 f"{m['lr'][epoch]:.3g}" if epoch in m["lr"] else ""]
                for (label, prefix), m in curves.items() for epoch in m["val_accuracy"]]
        md.append(table(["run", "evaluator", "epoch", "val", "train loss", "lr"], rows))

        def draw(ax):
            for (label, prefix), m in curves.items():
                epochs = list(m["val_accuracy"])
                ax.plot(epochs, [100 * m["val_accuracy"][e] for e in epochs], marker="o",
                        label=f"{label} {prefix}")
            ax.set_xlabel("epoch")
            ax.set_ylabel("fine-tuning val accuracy (%)")
            ax.legend(fontsize=8)
        figure(os.path.join(args.out, "finetune_curves.png"), draw, integer_x=True)
        md.append("![fine-tuning val accuracy by epoch](finetune_curves.png)\n")

    # AR vs BERT bars, when the experiment has both objectives.
    objective = {label: section_value(cfg, "objective", "plugin") for label, (_, cfg) in runs.items()}
    if {"ar", "bert"} <= set(objective.values()):
        def draw(ax):
            width = 0.8 / len(runs)
            for i, (label, p) in enumerate(probes.items()):
                ax.bar([layer + i * width for layer in p],
                       [100 * p[layer].get("test", 0) for layer in p], width,
                       label=f"{label} ({objective[label]})")
            ax.set_xlabel("layer")
            ax.set_ylabel("probe test accuracy (%)")
            ax.legend(fontsize=8)
        figure(os.path.join(args.out, "ar_vs_bert.png"), draw, integer_x=True)
        md.append("## AR vs BERT\n\n![AR vs BERT probe accuracy by layer](ar_vs_bert.png)\n")

    # Training curves.
    curves = {label: (training_series(db, run, "train/loss"),
                      training_series(db, run, "train/val_loss"))
              for label, (run, _) in runs.items()}
    if any(train for train, _ in curves.values()):
        def draw(ax):
            for label, (train, val) in curves.items():
                if train:
                    line, = ax.plot(*zip(*train), label=f"{label} train")
                    if val:
                        ax.plot(*zip(*val), "--", color=line.get_color(), label=f"{label} val")
            ax.set_xlabel("step")
            ax.set_ylabel("loss (nats per token)")
            ax.legend(fontsize=7)
        figure(os.path.join(args.out, "training_curves.png"), draw)
        md.append("## Training curves\n\n![training and validation loss](training_curves.png)\n")

    other_evaluators(db, runs, args.out, md)
    other_metrics(db, runs, args.out, md)

    # Completion grids written by `workbench sample` beside the report.
    grids = sorted(glob.glob(os.path.join(args.out, "samples-*.png")))
    if grids:
        md.append("## Completions (`workbench sample`)\n")
        md += [f"![{os.path.basename(g)}]({os.path.basename(g)})\n" for g in grids]

    path = os.path.join(args.out, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(md))
    print(f"report: {path}")


if __name__ == "__main__":
    try:
        main()
    except OSError as e:  # a full or read-only disk under --out: the file and the reason
        sys.exit(f"report: {e.filename or ''}: {e.strerror or e}")
