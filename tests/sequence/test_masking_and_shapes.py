"""Masking equivalence (a padded batch gives the results of the unpadded
sequences), output and state shapes of return_state / Bidirectional /
TimeDistributed, stateful RNNs, mask propagation, and the errors users
can reach."""

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import layers
from graphkeras.frontend.layers.masks import get_keras_mask

LENGTHS = [6, 2, 4, 1]
T, F = 6, 3


def _padded(rng, padding):
    seqs = [rng.normal(size=(n, F)).astype("float32") for n in LENGTHS]
    x = np.zeros((len(seqs), T, F), "float32")
    for i, s in enumerate(seqs):
        if padding == "post":
            x[i, :len(s)] = s
        else:
            x[i, T - len(s):] = s
    return seqs, x


RNNS = {
    "lstm": lambda **k: layers.LSTM(4, **k),
    "gru": lambda **k: layers.GRU(4, **k),
    "gru_before": lambda **k: layers.GRU(4, reset_after=False, **k),
    "simple_rnn": lambda **k: layers.SimpleRNN(4, **k),
}


@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("name", sorted(RNNS))
def test_padded_batch_gives_the_unpadded_results(name, go_backwards, padding):
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    seqs, x = _padded(rng, padding)
    rnn = RNNS[name](return_state=True, go_backwards=go_backwards)
    inp = keras.Input((T, F))
    out = rnn(layers.Masking()(inp))
    model = keras.Model(inp, out)
    got = model.predict(x, verbose=0)  # compiled
    for i, s in enumerate(seqs):
        alone = rnn(s[None])  # eager, unpadded, no mask
        for g, a in zip(got, alone):
            np.testing.assert_allclose(g[i], a[0], rtol=2e-5, atol=2e-6)


def test_masked_sequence_outputs_and_bidirectional_match_unpadded():
    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(2)
    seqs, x = _padded(rng, "post")
    bi = layers.Bidirectional(layers.LSTM(3, return_sequences=True))
    inp = keras.Input((T, F))
    model = keras.Model(inp, bi(layers.Masking()(inp)))
    got = model.predict(x, verbose=0)
    for i, s in enumerate(seqs):
        alone = bi(s[None])[0]
        np.testing.assert_allclose(got[i, :len(s)], alone, rtol=2e-5,
                                   atol=2e-6)
        # Bidirectional outputs zeros at masked steps (zero_output_for_mask)
        assert np.all(got[i, len(s):] == 0)


def test_embedding_mask_zero_reaches_the_rnn_and_the_attention():
    keras.utils.set_random_seed(3)
    tokens = np.array([[3, 4, 5, 0, 0], [6, 7, 0, 0, 0]], "int32")
    emb = layers.Embedding(10, 4, mask_zero=True)
    e = emb(tokens)
    np.testing.assert_array_equal(get_keras_mask(e), tokens != 0)
    lstm = layers.LSTM(3, return_sequences=True)
    seq = lstm(e)
    np.testing.assert_array_equal(get_keras_mask(seq), tokens != 0)
    # the last valid output is repeated over the padding (Keras)
    np.testing.assert_allclose(seq[0, 3:], np.repeat(seq[0, 2:3], 2, 0))
    unpadded = lstm(emb(tokens[1:, :2]))
    np.testing.assert_allclose(seq[1, :2], unpadded[0], rtol=1e-6)
    att = layers.Attention()
    out = att([seq, seq], mask=[get_keras_mask(seq), get_keras_mask(seq)])
    assert np.all(out[1, 2:] == 0)  # query mask zeroes padded queries
    np.testing.assert_array_equal(get_keras_mask(out), tokens != 0)


def test_return_state_and_bidirectional_shapes():
    inp = keras.Input((5, 3))
    outs = layers.LSTM(4, return_state=True)(inp)
    assert [o.shape for o in outs] == [(None, 4)] * 3
    outs = layers.GRU(4, return_sequences=True, return_state=True)(inp)
    assert [o.shape for o in outs] == [(None, 5, 4), (None, 4)]
    bi = layers.Bidirectional(layers.LSTM(4, return_state=True))(inp)
    assert [o.shape for o in bi] == [(None, 8)] + [(None, 4)] * 4
    bi = layers.Bidirectional(layers.GRU(4, return_sequences=True,
                                         return_state=True), merge_mode=None)(inp)
    assert [o.shape for o in bi] == [(None, 5, 4)] * 2 + [(None, 4)] * 2
    for mode, width in (("sum", 4), ("mul", 4), ("ave", 4), ("concat", 8)):
        out = layers.Bidirectional(layers.SimpleRNN(4), merge_mode=mode)(inp)
        assert out.shape == (None, width)
    td = layers.TimeDistributed(layers.Dense(7))(inp)
    assert td.shape == (None, 5, 7)
    x = np.ones((2, 5, 3), "float32")
    model = keras.Model(inp, layers.Bidirectional(
        layers.LSTM(4, return_state=True))(inp))
    got = model.predict(x, verbose=0)
    assert [g.shape for g in got] == [(2, 8)] + [(2, 4)] * 4


def test_initial_state_and_states_out_chain_two_calls():
    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    lstm = layers.LSTM(4, return_state=True)
    full = lstm(x)
    _, h, c = lstm(x[:, :3])
    second = lstm(x[:, 3:], initial_state=[h, c])
    for a, b in zip(full, second):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_stateful_rnn_carries_states_between_batches():
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 8, 3)).astype("float32")
    inp = keras.Input((4, 3), batch_size=2)
    rnn = layers.GRU(3, stateful=True)
    model = keras.Model(inp, rnn(inp))
    model.predict(x[:, :4], verbose=0)
    second = model.predict(x[:, 4:], verbose=0)
    twin = layers.GRU(3)
    twin(x)
    twin.set_weights(rnn.get_weights())
    np.testing.assert_allclose(second, twin(x), rtol=1e-5, atol=1e-6)
    rnn.reset_states()
    again = model.predict(x[:, :4], verbose=0)
    np.testing.assert_allclose(again, twin(x[:, :4]), rtol=1e-5, atol=1e-6)
    three = np.concatenate([x, x[:1]])[:, :4]
    with pytest.raises(ValueError, match="has N=3 .* another input set N=2"):
        model.predict(three, batch_size=3, verbose=0)


def test_time_distributed_over_a_fixed_rank_layer_runs_a_loop():
    keras.utils.set_random_seed(6)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, 4, 2, 5)).astype("float32")
    inner = keras.Sequential([keras.Input((2, 5)), layers.Flatten(),
                              layers.Dense(3, activation="relu")])
    td = layers.TimeDistributed(inner)
    inp = keras.Input((4, 2, 5))
    model = keras.Model(inp, td(inp))
    got = model.predict(x, verbose=0)
    want = np.stack([inner(x[:, t]) for t in range(4)], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make, call, message", [
    (lambda: layers.Bidirectional("lstm"), None,
     "Please initialize `Bidirectional` layer with a `keras.layers.Layer`"),
    (lambda: layers.Bidirectional(layers.LSTM(2), merge_mode="max"), None,
     "Invalid merge mode. Received: max"),
    (lambda: layers.TimeDistributed(3), None,
     "Please initialize `TimeDistributed` layer"),
    (lambda: layers.LSTM(0), None, "expected a positive integer, got 0"),
    (lambda: layers.Embedding(0, 3), None, "`input_dim` must be a positive"),
    (lambda: layers.Attention(score_mode="cosine"), None,
     "Invalid value for argument score_mode"),
    (lambda: layers.MultiHeadAttention(num_heads=0, key_dim=2), None,
     "Received: num_heads=0"),
    (lambda: layers.LSTM(2), lambda l: l(keras.Input((3,))),
     'expected ndim=3, found ndim=2'),
    (lambda: layers.GRU(2, stateful=True), lambda l: l(keras.Input((3, 2))),
     "the batch size must be static"),
    (lambda: layers.Attention(), lambda l: l(keras.Input((3, 2))),
     "must be called on a list of inputs"),
    (lambda: layers.TimeDistributed(layers.Dense(2)),
     lambda l: l(keras.Input((3,))), "at least 3 dimensions"),
    (lambda: layers.LSTM(2), lambda l: l(np.ones((2, 3, 4), "float32"),
                                         initial_state=[np.ones((2, 5))] * 2),
     (r"initial state 0 must have shape \(batch_size, 2\), received shape "
     r"\(2, 5\)")),
    (lambda: layers.GRU(2), lambda l: l(np.ones((2, 3, 4), "float32"),
                                        mask=np.ones((2, 4), bool)),
     (r"the mask must have shape \(batch_size, timesteps\) = \(2, 3\), "
     r"received shape \(2, 4\)")),
    (lambda: layers.LSTM(2), lambda l: l(np.ones((2, 3, 4), "float32"),
                                         initial_state=[np.ones((2, 2))]),
     r"has 2 state\(s\) but was passed 1 initial state"),
])
def test_errors_name_what_was_expected_and_received(make, call, message):
    with pytest.raises(ValueError, match=message):
        layer = make()
        if call is not None:
            call(layer)


def test_loss_ignores_masked_time_steps():
    # Keras 3: the mask of the model's output weights the loss (padded steps
    # do not count, the mean is over the real steps)
    keras.utils.set_random_seed(7)
    tokens = np.array([[3, 4, 5, 0], [6, 0, 0, 0]], "int32")
    y = np.random.default_rng(7).random((2, 4, 1)).astype("float32")
    inp = keras.Input((4,), dtype="int32")
    h = layers.Embedding(10, 3, mask_zero=True)(inp)
    h = layers.GRU(3, return_sequences=True)(h)
    out = layers.TimeDistributed(layers.Dense(1))(h)
    model = keras.Model(inp, out)
    model.compile(optimizer="sgd", loss="mse")
    pred = model.predict(tokens, verbose=0)
    keep = tokens != 0
    want = np.mean(((pred - y)[..., 0] ** 2)[keep])
    got = model.evaluate(tokens, y, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5)


class MinimalCell(layers.Layer):
    """Keras's example cell: h' = x @ kernel + tanh(h) @ recurrent."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units), name="recurrent_kernel")

    def call(self, inputs, states):
        prev = states[0]
        h = keras.ops.matmul(inputs, self.kernel)
        out = h + keras.ops.matmul(keras.ops.tanh(prev), self.recurrent_kernel)
        return out, [out]


def test_rnn_runs_a_users_cell_and_builtin_cells_inside_the_loop():
    keras.utils.set_random_seed(8)
    rng = np.random.default_rng(8)
    x = rng.normal(size=(3, 5, 2)).astype("float32")
    cell = MinimalCell(4)
    rnn = layers.RNN(cell, return_sequences=True)
    got = rnn(x)
    k, rk = cell.kernel.numpy(), cell.recurrent_kernel.numpy()
    h = np.zeros((3, 4), "float32")
    want = []
    for t in range(5):
        h = x[:, t] @ k + np.tanh(h) @ rk
        want.append(h)
    np.testing.assert_allclose(got, np.stack(want, 1), rtol=1e-5, atol=1e-6)
    inp = keras.Input((5, 2))
    model = keras.Model(inp, rnn(inp))
    model.compile(optimizer="sgd", loss="mse")
    np.testing.assert_allclose(model.predict(x, verbose=0), got, rtol=1e-5,
                               atol=1e-6)
    model.train_on_batch(x, np.zeros((3, 5, 4), "float32"))  # gradients flow
    assert not np.allclose(cell.kernel.numpy(), k)
    lstm = layers.LSTM(3)
    wrapped = layers.RNN(layers.LSTMCell(3))
    lstm(x)
    wrapped(x)
    wrapped.set_weights(lstm.get_weights())
    np.testing.assert_allclose(wrapped(x), lstm(x), rtol=1e-6)


def test_time_distributed_rnn_nests_a_loop_in_a_loop():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 5, 2)).astype("float32")
    y = rng.normal(size=(3, 4, 3)).astype("float32")
    losses = []
    for eager in (False, True):
        keras.utils.set_random_seed(0)
        inner = layers.LSTM(3)
        inp = keras.Input((4, 5, 2))
        model = keras.Model(inp, layers.TimeDistributed(inner)(inp))
        if not eager:
            want = np.stack([inner(x[:, t]) for t in range(4)], 1)
            np.testing.assert_allclose(model.predict(x, verbose=0), want,
                                       rtol=1e-5, atol=1e-6)
        model.compile(optimizer="adam", loss="mse", run_eagerly=eager)
        losses.append([float(model.train_on_batch(x, y)) for _ in range(3)])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
