"""The inference engine: numpy, mrcfile and onnxruntime only (no ChimeraX, no torch).

Modules are imported where used, so ``import chimerax.deepssetracer.core`` costs nothing; the
CLI and the ChimeraX command both call `predict.predict_map`.
"""
