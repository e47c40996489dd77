// `workbench results [list] [--experiment NAME] [--all]`, `results show RUN`,
// `results table EXPERIMENT`, `results merge FROM.db...`, `results upgrade`,
// `results tag RUN TAG`, `results note RUN TEXT`, `results archive RUN [--restore]`
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <workbench/error.hpp>

#include "commands.hpp"
#include "results_tables.hpp"
#include "store/store_merge.hpp"
#include "table.hpp"

namespace wb::cli {

namespace {
struct ResultsArgs {
  std::string db = default_db();
  std::string experiment;
  int64_t run = 0;
  std::vector<std::string> from;
  bool by_seed = false;  // results table --by-seed
  bool all = false;      // results list --all: archived runs too
  std::string text;      // results tag's tag, results note's text
  bool restore = false;  // results archive --restore
};

// The store at `db` opened for writing (migrated), for the commands that write one
// that must exist (upgrade, tag, note, archive): none makes a store where there was none.
Store existing_store_to_write(const std::string& db) {
  if (!std::filesystem::exists(db)) throw Error(fmt::format("{}: no results store here", db));
  return Store(db);
}

void list_runs(Store& store, const std::string& experiment, bool all) {
  // The checkpoint's loss on the whole validation split (a run's last figure).
  std::map<int64_t, std::string> val_loss;
  store.query("SELECT run_id, value FROM metrics WHERE name = 'train/final_val_loss'", {},
              [&](auto&, const auto& v) {
                val_loss[std::stoll(v[0])] = fmt::format("{:.4f}", std::stod(v[1]));
              });
  std::vector<std::vector<std::string>> rows;
  int hidden = 0;
  for (const auto& r : store.runs(experiment)) {
    if (r.archived && !all) {
      ++hidden;
      continue;
    }
    std::string tags = fmt::format("{}", fmt::join(r.tags, " "));
    if (r.archived) tags += tags.empty() ? "(archived)" : " (archived)";
    rows.push_back({std::to_string(r.id), r.experiment, r.label, r.status, r.config_hash,
                    r.started_at, r.git_commit.substr(0, 10), val_loss[r.id], tags, r.note});
  }
  print_table(std::cout,
              {"run", "experiment", "variant", "status", "config", "started", "commit", "val_loss",
               "tags", "note"},
              rows);
  if (hidden > 0)
    std::cout << fmt::format("({} archived run{} not shown: --all shows them)\n", hidden,
                             hidden == 1 ? "" : "s");
}
}  // namespace

void add_results(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ResultsArgs>();
  auto* cmd = app.add_subcommand("results", "Query the results store (plain sqlite3 works too)");
  cmd->add_option("--db", args->db, "results store")->capture_default_str();
  cmd->fallthrough();  // --db may also come after the subcommand
  auto* list = cmd->add_subcommand("list", "List runs (the default)");
  list->add_option("--experiment", args->experiment, "only this experiment");
  list->add_flag("--all", args->all, "archived runs too");
  auto* show = cmd->add_subcommand("show", "Everything about one run");
  show->add_option("run", args->run, "run id")->required();
  auto* table = cmd->add_subcommand("table", "Per-layer tables of an experiment");
  table->add_option("experiment", args->experiment, "experiment name")->required();
  table->add_flag("--by-seed", args->by_seed,
                  "a column per run, not mean ± std over runs that differ only in seed");
  auto* tag = cmd->add_subcommand("tag", "Tag a run (a word; a run keeps each tag once)");
  tag->add_option("run", args->run, "run id")->required();
  tag->add_option("tag", args->text, "the tag")->required();
  auto* note = cmd->add_subcommand("note", "Set a run's note (replacing the last)");
  note->add_option("run", args->run, "run id")->required();
  note->add_option("text", args->text, "the note")->required();
  auto* archive = cmd->add_subcommand(
      "archive", "Hide a run from lists, tables and reports; it stays in the store");
  archive->add_option("run", args->run, "run id")->required();
  archive->add_flag("--restore", args->restore, "show it again");
  auto* merge = cmd->add_subcommand(
      "merge", "Bring the runs of other stores (other machines, --shard shares) into --db");
  merge->add_option("from", args->from, "stores to merge in")->required();
  auto* upgrade = cmd->add_subcommand(
      "upgrade",
      "Bring a store of an older schema up to date (the one reading command that writes)");
  cmd->callback([args, show, table, merge, upgrade, tag, note, archive, &exit_code] {
    if (tag->parsed() || note->parsed() || archive->parsed()) {
      Store store = existing_store_to_write(args->db);
      if (tag->parsed()) store.tag(args->run, args->text);
      if (note->parsed()) store.note(args->run, args->text);
      if (archive->parsed()) store.archive(args->run, !args->restore);
      std::cout << fmt::format("run {}: {}\n", args->run,
                               tag->parsed()    ? "tagged " + args->text
                               : note->parsed() ? "note set"
                               : args->restore  ? "restored"
                                                : "archived (--all lists it)");
      exit_code = 0;
      return;
    }
    if (upgrade->parsed()) {
      Store store = existing_store_to_write(args->db);  // opening it runs the migrations
      std::cout << fmt::format("{}: schema version {}\n", args->db, store.schema_version());
      exit_code = 0;
      return;
    }
    if (merge->parsed()) {
      Store store(args->db);  // created when new: the first merge makes it
      for (const auto& from : args->from) {
        MergeSummary m = merge_store(store, from);
        std::cout << fmt::format(
            "{}: {} runs added, {} already present; {} artifact files copied, {} not found\n", from,
            m.runs_added, m.runs_present, m.files_copied, m.files_missing);
      }
      exit_code = 0;
      return;
    }
    // Read only, whoever's the store is: listing it never changes it (a run whose
    // process died shows as running until the next `workbench run` marks it).
    auto opened = Store::open_for_reading(args->db);
    Store& store = *opened;
    if (show->parsed()) {
      print_run(store, args->run, std::cout);
    } else if (table->parsed()) {
      print_experiment_tables(store, args->experiment, std::cout, args->by_seed);
    } else {
      list_runs(store, args->experiment, args->all);
    }
    exit_code = 0;
  });
}

}  // namespace wb::cli
