"""Data-parallel training of a digit classifier on MPI ranks.

    python examples/distributed_mnist.py                   # one process
    mpiexec -n 2 python examples/distributed_mnist.py      # two ranks

(as root, Open MPI also wants OMPI_ALLOW_RUN_AS_ROOT=1
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1, and OMPI_MCA_rmaps_base_oversubscribe=1
to start more ranks than cores). The same script runs in both ways and
trains to the same weights (to float rounding): each global batch of 64 is
split across the ranks, the gradients are summed across ranks inside the
compiled step, and rank 0's initial weights are broadcast. Only rank 0
prints and writes `--save`. The data are the 8x8 digits shipped with
graphkeras (graphkeras.datasets.digits), so no download is needed.
See docs/distributed.md.
"""

import argparse

import numpy as np

import graphkeras as keras
from graphkeras import distribution


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64,
                        help="the global batch, split across the ranks")
    parser.add_argument("--save", metavar="NPZ", default=None,
                        help="write the trained weights here (rank 0)")
    args = parser.parse_args()

    # one device per MPI rank; in a single process this is ["cpu:0"] and
    # DataParallel changes nothing
    devices = distribution.list_devices()
    distribution.set_distribution(distribution.DataParallel(devices=devices))

    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    x_train = x_train.astype("float32") / 16.0
    x_test = x_test.astype("float32") / 16.0

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8, 8)),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=args.batch_size,
              epochs=args.epochs, validation_data=(x_test, y_test),
              verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    if distribution.process_index() == 0:  # every rank holds the same model
        print(f"{len(devices)} rank(s): test loss {loss:.4f}, "
              f"accuracy {accuracy:.4f}")
        if args.save:
            np.savez(args.save, *model.get_weights())


if __name__ == "__main__":
    main()
