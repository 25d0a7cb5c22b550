package dev.tokc.runtime.artifact;

import java.util.HashSet;
import java.util.List;

/**
 * How the model is partitioned over ranks, and which weights file each rank maps.
 *
 * <p>Rank {@code r} (tensor-parallel index varying fastest: {@code r = pp * tensorParallel + tp}) loads
 * {@code weightFiles.get(r)}. An unpartitioned engine has one rank and one file, {@code weights.bin}.
 *
 * @param tensorParallel   ranks a layer's matrices are split over
 * @param pipelineParallel stages the layers are split into
 * @param weightFiles      one weights file per rank, relative to the engine directory
 */
public record ParallelLayout(int tensorParallel, int pipelineParallel, List<String> weightFiles) {
    /** The weights file of an unpartitioned engine. */
    public static final String WEIGHTS_FILE = "weights.bin";

    public ParallelLayout {
        weightFiles = List.copyOf(weightFiles);
        if (tensorParallel <= 0 || pipelineParallel <= 0) {
            throw new IllegalArgumentException("tensor_parallel and pipeline_parallel must be positive, got "
                    + tensorParallel + " and " + pipelineParallel);
        }
        if (weightFiles.size() != (long) tensorParallel * pipelineParallel) {
            throw new IllegalArgumentException(tensorParallel + " x " + pipelineParallel + " ranks need as many weight files, got "
                    + weightFiles.size() + " " + weightFiles);
        }
        if (new HashSet<>(weightFiles).size() != weightFiles.size()) {
            throw new IllegalArgumentException("weight files must be distinct, got " + weightFiles);
        }
        weightFiles.forEach(f -> ArtifactPaths.checkRelative(f, "weight file"));
    }

    /** One rank, {@code weights.bin}. */
    public static ParallelLayout single() {
        return new ParallelLayout(1, 1, List.of(WEIGHTS_FILE));
    }

    /** {@code ranks} files named {@code weights-rank<r>.bin}, laid out as {@code tensorParallel x pipelineParallel}. */
    public static ParallelLayout partitioned(int tensorParallel, int pipelineParallel) {
        int ranks = Math.multiplyExact(tensorParallel, pipelineParallel);
        List<String> files = new java.util.ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            files.add("weights-rank" + r + ".bin");
        }
        return new ParallelLayout(tensorParallel, pipelineParallel, files);
    }

    /** Total ranks. */
    public int ranks() {
        return weightFiles.size();
    }
}
