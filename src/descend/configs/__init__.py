"""Default run configurations. ``DEFAULT_TOML`` is the text of ``descend train``'s default run
(kept as a string so that it ships in every install; ``descend config`` prints it)."""

DEFAULT_TOML = """\
# descend's default run: an MLP on the embedded digits data (8x8 images, 10 classes).
# Every key below may be changed in a config file or with `descend train --set section.key=value`.

[model]
hidden = [256]            # sizes of the hidden layers
activation = "relu"       # relu | tanh | sigmoid | leaky_relu | elu | gelu
dropout = 0.3             # dropout probability after each hidden activation
batchnorm = false         # BatchNorm1d after each hidden linear layer
init = "default"          # default (PyTorch's) | xavier_uniform | xavier_normal | kaiming_uniform | kaiming_normal

[optimizer]
name = "Adam"             # any optimizer of descend.optim; other keys are its hyperparameters
lr = 0.001

[schedule]
name = "none"             # none, or any scheduler of descend.optim.lr_scheduler; other keys are its arguments
interval = "epoch"        # step it per "epoch" or per "batch"
monitor = "val_loss"      # the metric given to ReduceLROnPlateau

[data]
name = "digits"           # digits | mnist | fashion_mnist | two_moons | spirals | circles | xor
path = ""                 # directory holding the MNIST files ("" = the cache directory)
val = 0.1                 # fraction held out for validation
test = 0.2                # fraction held out for testing (digits and toy sets; MNIST has its own test set)
stratify = true           # keep the class proportions in every split
batch_size = 32
mode = "minibatch"        # batch | stochastic | online | minibatch
fixed_batches = false     # draw the batches once and reuse them every epoch
standardize = true        # (x - mean) / std with statistics of the training set only

[data.augment]
shift = 0                 # random shift by up to this many pixels
flip = false              # random horizontal flip
rotate = 8.0              # random rotation by up to this many degrees
noise = 0.3               # Gaussian noise of this standard deviation

[training]
epochs = 60
seed = 0
checkpoint_every = 1      # save the full training state every this many epochs
monitor_every = 0         # layer statistics every this many steps (0 = once per epoch)
sanity_check = false      # run the babysitting checks before training

[training.early_stopping]
enabled = true
monitor = "val_loss"
mode = "min"              # min | max: never guessed from the name
patience = 10
min_delta = 0.0
restore_best_weights = true
notes_patience = false    # the notes' rule: patience = max(patience, 2 * best epoch)

[output]
dir = "runs"              # runs go to <dir>/<name>
name = ""                 # "" = a timestamp
plots = true              # PNG plots (needs matplotlib)
progress = true           # progress bar (needs tqdm)
trajectory_max_parameters = 250000  # per-epoch weights in trajectory/ (for descend analyze) up to this size; 0 = off
"""
