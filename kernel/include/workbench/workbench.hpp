#pragma once
// The whole plugin SDK. A plugin includes this (or the one kind header it needs).
#include <workbench/atomic_file.hpp>
#include <workbench/checked_file.hpp>
#include <workbench/config.hpp>
#include <workbench/context.hpp>
#include <workbench/data.hpp>
#include <workbench/dataset.hpp>
#include <workbench/error.hpp>
#include <workbench/evaluator.hpp>
#include <workbench/feature_pool.hpp>
#include <workbench/features.hpp>
#include <workbench/model.hpp>
#include <workbench/objective.hpp>
#include <workbench/plugin.hpp>
#include <workbench/precision.hpp>
#include <workbench/quantizer.hpp>
#include <workbench/schedule.hpp>
