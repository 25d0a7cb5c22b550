package dev.tokc.cli;

import java.util.List;

/**
 * One {@code tokc bench --server} run as written by {@code --json} and read back by {@code --compare}: what was
 * asked, the machine's load average around it, and the figures per level.
 *
 * @param label the run's name in plots (e.g. "continuous", "static")
 * @param mode "closed loop" or "open loop, Poisson R req/s"
 * @param requestShape how the prompt travelled (token ids or text) and whether usage was asked for
 * @param loadBefore {@code /proc/loadavg}'s three averages before the first level, {@code loadAfter} after the last
 */
record ServerBenchRun(String label, String server, String model, String mode, String promptLen, String genLen,
        long seed, String requestShape, String startedAt, String loadBefore, String loadAfter,
        List<ServerBenchLevel> levels) {}
