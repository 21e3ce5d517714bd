#!/bin/sh
# Which execution provider runs mlp_32, gru_32x8 and multihead_16 (TensorRT, CUDA, CPU in that order), each failure's reason, outputs against the references, p50/p99: run on a GPU host from the repository root.
cd "$(dirname "$0")/.." && mkdir -p perf/results && dotnet run -c Release --project perf/Engine.LatencyHarness -- providers --json perf/results/providers.json "$@"
