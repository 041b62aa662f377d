"""The pre-opening audit (M8): catalogue, targets, runner, results, waivers, baseline."""
