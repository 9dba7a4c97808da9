"""The keras-io custom-training patterns, in graphkeras with only the
gradient call swapped: a GAN with two optimizers and a WGAN-GP (a gradient
penalty: a gradient inside the loss, differentiated again). Each trains
compiled (one native call per step) to the reference interpreter's numbers
(run_eagerly=True); the second-order gradient is checked against finite
differences."""

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import layers, ops

LATENT = 3


def _nets(seed=0):
    keras.utils.set_random_seed(seed)
    discriminator = keras.Sequential(
        [keras.Input((6,)), layers.Dense(8),
         layers.LeakyReLU(negative_slope=0.2), layers.Dense(1)],
        name="discriminator")
    generator = keras.Sequential(
        [keras.Input((LATENT,)), layers.Dense(8),
         layers.LeakyReLU(negative_slope=0.2),
         layers.Dense(6, activation="sigmoid")], name="generator")
    return discriminator, generator


class GAN(keras.Model):
    """keras-io's "GAN overriding train_step", tape form."""

    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)

    def compile(self, d_optimizer, g_optimizer, loss_fn, run_eagerly=False):
        super().compile(run_eagerly=run_eagerly)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def train_step(self, real_images):
        batch_size = ops.shape(real_images)[0]
        latent = keras.random.normal(shape=(batch_size, self.latent_dim),
                                     seed=self.seed_generator)
        generated = self.generator(latent)
        # NOTE: the guide concatenates fake and real images along the
        # batch; graphkeras cannot (the batch is one symbolic size), so the
        # two halves go through the discriminator one by one
        fake_labels = ops.ones((batch_size, 1))
        real_labels = ops.zeros((batch_size, 1))
        fake_labels += 0.05 * keras.random.uniform(
            ops.shape(fake_labels), seed=self.seed_generator)
        real_labels += 0.05 * keras.random.uniform(
            ops.shape(real_labels), seed=self.seed_generator)
        with keras.GradientTape() as tape:
            d_loss = 0.5 * (
                self.loss_fn(fake_labels, self.discriminator(generated))
                + self.loss_fn(real_labels, self.discriminator(real_images)))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(
            zip(grads, self.discriminator.trainable_weights))
        latent = keras.random.normal(shape=(batch_size, self.latent_dim),
                                     seed=self.seed_generator)
        misleading_labels = ops.zeros((batch_size, 1))
        with keras.GradientTape() as tape:
            predictions = self.discriminator(self.generator(latent))
            g_loss = self.loss_fn(misleading_labels, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(
            zip(grads, self.generator.trainable_weights))
        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(),
                "g_loss": self.g_loss_metric.result()}


DATA = np.random.default_rng(0).random((48, 6)).astype("float32")


def _gan_fit(run_eagerly):
    gan = GAN(*_nets(), latent_dim=LATENT)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate=0.01),
                g_optimizer=keras.optimizers.Adam(learning_rate=0.01),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True),
                run_eagerly=run_eagerly)
    hist = gan.fit(DATA, epochs=2, batch_size=16, shuffle=False,
                   verbose=0).history
    return gan, hist


def test_gan_two_optimizers_compiled_matches_reference():
    gan, compiled = _gan_fit(False)
    weights = [w.copy() for w in gan.get_weights()]
    eager_gan, eager = _gan_fit(True)
    for k in ("d_loss", "g_loss"):
        np.testing.assert_allclose(compiled[k], eager[k], rtol=1e-4)
    for a, b in zip(weights, eager_gan.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert len(gan._steps) == 1  # one program: both updates in one step
    # both optimizers stepped once per batch (3 batches x 2 epochs)
    assert int(gan.d_optimizer.iterations) == 6
    assert int(gan.g_optimizer.iterations) == 6
    # and each step is one call of the compiled executable
    exe = gan._steps.values()[0]
    calls, run = [], exe.run
    exe.run = lambda args: (calls.append(1), run(args))[1]
    gan.fit(DATA, epochs=1, batch_size=16, shuffle=False, verbose=0)
    assert type(exe).__name__ == "CompiledExecutable" and len(calls) == 3


class WGANGP(keras.Model):
    """keras-io's WGAN-GP: the critic's loss holds the gradient penalty,
    a gradient of the critic w.r.t. interpolated images."""

    def __init__(self, discriminator, generator, latent_dim, d_steps=2,
                 gp_weight=10.0):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.d_steps = d_steps
        self.gp_weight = gp_weight
        self.seed_generator = keras.random.SeedGenerator(7)

    def compile(self, d_optimizer, g_optimizer, run_eagerly=False):
        super().compile(run_eagerly=run_eagerly)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    def gradient_penalty(self, batch_size, real_images, fake_images):
        alpha = keras.random.uniform((batch_size, 1),
                                     seed=self.seed_generator)
        interpolated = real_images + alpha * (fake_images - real_images)
        with keras.GradientTape() as gp_tape:
            gp_tape.watch(interpolated)
            pred = self.discriminator(interpolated, training=True)
        grads = gp_tape.gradient(pred, [interpolated])[0]
        norm = ops.sqrt(ops.sum(ops.square(grads), axis=1))
        return ops.mean((norm - 1.0) ** 2)

    def train_step(self, real_images):
        batch_size = ops.shape(real_images)[0]
        for _ in range(self.d_steps):
            latent = keras.random.normal((batch_size, self.latent_dim),
                                         seed=self.seed_generator)
            with keras.GradientTape() as tape:
                fake_images = self.generator(latent, training=True)
                fake_logits = self.discriminator(fake_images, training=True)
                real_logits = self.discriminator(real_images, training=True)
                d_cost = ops.mean(fake_logits) - ops.mean(real_logits)
                gp = self.gradient_penalty(batch_size, real_images,
                                           fake_images)
                d_loss = d_cost + gp * self.gp_weight
            d_gradient = tape.gradient(
                d_loss, self.discriminator.trainable_variables)
            self.d_optimizer.apply_gradients(
                zip(d_gradient, self.discriminator.trainable_variables))
        latent = keras.random.normal((batch_size, self.latent_dim),
                                     seed=self.seed_generator)
        with keras.GradientTape() as tape:
            generated = self.generator(latent, training=True)
            g_loss = -ops.mean(self.discriminator(generated, training=True))
        gen_gradient = tape.gradient(g_loss,
                                     self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(
            zip(gen_gradient, self.generator.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss}


def _wgan_fit(run_eagerly):
    wgan = WGANGP(*_nets(1), latent_dim=LATENT)
    wgan.compile(d_optimizer=keras.optimizers.Adam(0.01, beta_1=0.5),
                 g_optimizer=keras.optimizers.Adam(0.01, beta_1=0.5),
                 run_eagerly=run_eagerly)
    hist = wgan.fit(DATA, epochs=2, batch_size=16, shuffle=False,
                    verbose=0).history
    return wgan, hist


def test_wgan_gp_compiled_matches_reference():
    wgan, compiled = _wgan_fit(False)
    weights = [w.copy() for w in wgan.get_weights()]
    eager_wgan, eager = _wgan_fit(True)
    for k in ("d_loss", "g_loss"):
        np.testing.assert_allclose(compiled[k], eager[k], rtol=2e-4,
                                   atol=1e-5)
    for a, b in zip(weights, eager_wgan.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-5)
    assert len(wgan._steps) == 1
    assert int(wgan.d_optimizer.iterations) == 2 * 3 * 2


def test_gradient_penalty_second_order_matches_finite_differences():
    # penalty(w) = mean((|d critic(x; w) / dx| - 1)^2) for a small critic;
    # its gradient in w goes through the VJPs of the VJP ops
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 4)).astype("float32")
    w1 = rng.normal(size=(4, 3)).astype("float32")
    w2 = rng.normal(size=(3, 1)).astype("float32")

    def critic(w1, w2, x):
        h = ops.leaky_relu(ops.matmul(x, w1), negative_slope=0.2)
        return ops.matmul(ops.tanh(h), w2)

    def penalty(ws, x):
        g = keras.ops.grad(lambda x_: ops.sum(critic(ws[0], ws[1], x_)))(x)
        norm = ops.sqrt(ops.sum(ops.square(g), axis=1))
        return ops.mean((norm - 1.0) ** 2)

    value, (g1, g2) = keras.ops.value_and_grad(penalty)([w1, w2], x)

    def numeric(i, w):
        out = np.zeros_like(w)
        eps = 1e-3
        for idx in np.ndindex(w.shape):
            ws = [w1.astype("float64"), w2.astype("float64")]
            for sign in (1, -1):
                ws_ = [a.copy() for a in ws]
                ws_[i][idx] += sign * eps
                out[idx] += sign * float(_penalty_np(ws_, x))
            out[idx] /= 2 * eps
        return out

    np.testing.assert_allclose(value, _penalty_np([w1, w2], x), rtol=1e-4)
    np.testing.assert_allclose(g1, numeric(0, w1), rtol=2e-2, atol=2e-3)
    np.testing.assert_allclose(g2, numeric(1, w2), rtol=2e-2, atol=2e-3)


def _penalty_np(ws, x):
    # the same penalty with the input gradient written by hand (float64)
    w1, w2 = (np.asarray(w, np.float64) for w in ws)
    x = x.astype(np.float64)
    pre = x @ w1
    h = np.where(pre > 0, pre, 0.2 * pre)
    t = np.tanh(h)
    dh = (1 - t**2) * w2[:, 0]
    dpre = dh * np.where(pre > 0, 1.0, 0.2)
    g = dpre @ w1.T
    norm = np.sqrt((g**2).sum(axis=1))
    return ((norm - 1.0) ** 2).mean()


def test_gradient_outside_a_step_is_refused_clearly():
    with pytest.raises(ValueError, match="inside a traced step"):
        keras.GradientTape().gradient(np.float32(1.0), [np.ones(2)])
