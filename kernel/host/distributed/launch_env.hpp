#pragma once
// Which worker of a data-parallel run this process is, from the environment its
// launcher set, in this order:
//   the workbench's own (`--nproc`/`--nnodes`): WB_RANK, WB_WORLD_SIZE, WB_LOCAL_RANK,
//     WB_LOCAL_WORLD_SIZE, WB_MASTER_ADDR, WB_MASTER_PORT, WB_DIST_TIMEOUT;
//   torchrun's: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT
//     (and TORCHELASTIC_USE_AGENT_STORE: the agent serves the rendezvous store);
//   SLURM's, inside an `srun` step of several tasks: SLURM_PROCID, SLURM_NTASKS,
//     SLURM_LOCALID, SLURM_NODEID, SLURM_TASKS_PER_NODE; the master is
//     `--master ADDR:PORT`, else MASTER_ADDR/MASTER_PORT, else the first host of
//     SLURM_JOB_NODELIST at port 29500.
// None of these (or a SLURM job outside an srun step, or of one task): one process.
#include <optional>
#include <string>

#include "distributed/cluster.hpp"

namespace wb {

// `master`: the --master option ("ADDR:PORT"), or "". A malformed or
// inconsistent variable is a wb::Error naming it.
std::optional<ClusterSpec> cluster_spec_from_env(const std::string& master = "");

// "node[01-04,07],gpu5" -> "node01": the first host of a SLURM host list.
std::string first_slurm_host(const std::string& nodelist);
// "2(x3),1" -> {2, 2, 2, 1}: tasks on each node of the job step.
std::vector<int64_t> slurm_tasks_per_node(const std::string& text);

}  // namespace wb
