from pathlib import Path

import evaluate
from evaluate.utils import launch_gradio_widget


# Load the script beside this file.  A bare evaluate.load("tacos_temporal") would be looked up as
# the canonical Hub module evaluate-metric/tacos_temporal, which does not exist; the path works in
# the Space (this folder is its root) and in a clone of the repository alike.
module = evaluate.load(str(Path(__file__).resolve().with_name("tacos_temporal.py")))
launch_gradio_widget(module)
