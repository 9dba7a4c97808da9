"""Next-frame video prediction with ConvLSTM2D, as keras.io's example, on
generated videos of bouncing squares (no download).

    python examples/next_frame_prediction.py [--epochs 8] [--videos 256]

Each video is 10 frames of 24 x 24 pixels in which a 4 x 4 square moves
with a constant velocity and bounces off the borders. The model reads
frames 0..8 and predicts frames 1..9 (keras.io's shift by one): stacked
ConvLSTM2D layers with BatchNormalization, then a Conv3D with a sigmoid
for the pixels. Then it predicts the last frame of held-out videos, and
its error is compared with repeating the frame before (which misses
every move).
"""

import argparse

import numpy as np

import graphkeras as keras
from graphkeras import layers

FRAMES, SIZE, SQUARE = 10, 24, 4


def bouncing_squares(n, seed=0):
    """n videos (n, FRAMES, SIZE, SIZE, 1) of one moving square each."""
    rng = np.random.default_rng(seed)
    videos = np.zeros((n, FRAMES, SIZE, SIZE, 1), "float32")
    hi = SIZE - SQUARE
    for k in range(n):
        pos = rng.integers(0, hi + 1, 2)
        vel = rng.choice([-2, -1, 1, 2], 2)
        for t in range(FRAMES):
            r, c = pos
            videos[k, t, r:r + SQUARE, c:c + SQUARE, 0] = 1.0
            pos = pos + vel
            for d in range(2):  # bounce
                if pos[d] < 0 or pos[d] > hi:
                    vel[d] = -vel[d]
                    pos[d] = np.clip(pos[d], 0, hi)
    return videos


def build_model():
    inp = keras.Input((None, SIZE, SIZE, 1))
    x = layers.ConvLSTM2D(16, 5, padding="same", return_sequences=True,
                          activation="relu")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(16, 3, padding="same", return_sequences=True,
                          activation="relu")(x)
    x = layers.Conv3D(1, 3, padding="same", activation="sigmoid")(x)
    model = keras.Model(inp, x)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss="binary_crossentropy")
    return model


def main(epochs=8, videos=256, verbose=2):
    keras.utils.set_random_seed(0)
    data = bouncing_squares(videos + 32)
    train, test = data[:videos], data[videos:]
    model = build_model()
    history = model.fit(train[:, :-1], train[:, 1:], batch_size=16,
                        epochs=epochs, validation_split=0.1, verbose=verbose)
    # the last frame of each held-out video from the nine before it
    predicted = model.predict(test[:, :-1], verbose=0)[:, -1]
    truth = test[:, -1]
    mse = float(np.mean((predicted - truth) ** 2))
    repeat = float(np.mean((test[:, -2] - truth) ** 2))
    print(f"next-frame mse {mse:.4f}; repeating the previous frame "
          f"{repeat:.4f}")
    return history, mse, repeat


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--videos", type=int, default=256)
    args = ap.parse_args()
    main(args.epochs, args.videos)
