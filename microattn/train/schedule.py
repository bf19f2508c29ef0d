"""Learning-rate schedules for training: warm-up then cosine, Noam, or constant."""
import math

from ..optim.lr_scheduler import LambdaLR, noam_lambda


def warmup_cosine(warmup, total):
    """The lr factor: rises linearly from 1/warmup to 1 over ``warmup`` steps, then
    follows half a cosine from 1 down to 0 at step ``total``::

        factor(s) = (s + 1) / warmup                              s < warmup
                  = (1 + cos(pi * (s - warmup) / (total - warmup))) / 2   after
    """
    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return factor


def make_scheduler(optimizer, config):
    """The LambdaLR of ``config.schedule`` (its state is a step count: resumable)."""
    if config.schedule == "noam":
        factor = noam_lambda(config.d_model, max(1, config.warmup))
    elif config.schedule == "cosine":
        factor = warmup_cosine(config.warmup, config.steps)
    else:
        warmup = config.warmup

        def factor(step):
            return min(1.0, (step + 1) / warmup) if warmup else 1.0
    return LambdaLR(optimizer, factor)
