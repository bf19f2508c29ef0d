# %% [markdown]
# # Exercise 10: train a transformer on your own ops
#
# With exercises 4 to 8 passing, the library can run on your code: `learn
# train` trains the `reverse` task (output a digit string backwards) with
# your softmax, cross-entropy, layer norm, embedding and attention, forward
# and backward, in place of the library's. Everything else (the model, AdamW,
# the run folder and its report) is the library's. When the held-out exact
# match reaches 99%, the exercise is done: open the run's report.html and
# watch the cross-attention form the anti-diagonal through your backward.
#
# Run this file, or `microattn learn train .` from this folder (both take
# `train`'s options, e.g. `--steps 300` for a quick look).

# %%
if __name__ == "__main__":
    import sys
    from pathlib import Path

    from microattn.cli import main
    sys.exit(main(["learn", "train", str(Path(__file__).resolve().parent), *sys.argv[1:]]))
