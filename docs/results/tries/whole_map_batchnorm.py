"""BatchNorm statistics of the shipped weights re-estimated from whole real maps, prepared as a
user's map is (AdaBN, Li et al. 2016): does the held-out sheets' rise of tries X3-X8 (model card,
"Why the X family moved the boxes it held") come from statistics of real maps, without the
tuned boxes' loss? The weights are untouched; each BatchNorm layer's statistics become the
average over every 64³ tile (2 Å grid) of the pool's maps as `core.prepare` gives them.

    .venv/bin/python docs/results/tries/whole_map_batchnorm.py /work/data/pool_src OUTDIR
    deepssetracer evaluate --pairs ../shared/data/real|/work/data/heldout --lowpass 6,8 \
        --threads 2 --weights OUTDIR/deepssetracer.onnx --json ...
    (output: whole_map_batchnorm.txt beside it; model card)
"""
import sys
from pathlib import Path

import numpy as np
import torch
from chimerax.deepssetracer.core.mapio import read_map
from chimerax.deepssetracer.core.prepare import prepare
from chimerax.deepssetracer.model.unet import UNet3D
from chimerax.deepssetracer.train.finish import finish

SHIPPED = "checkpoints/fl_dl_sheet2.pt"
TILE = 64

saved = torch.load(SHIPPED, map_location="cpu", weights_only=False)
state = saved.get("ema") or saved["model"]
net = UNet3D(**saved["config"]["network"])
net.load_state_dict(state)
net.eval()
for m in net.modules():
    if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over every tile
        m.train()
torch.set_num_threads(2)
tiles = 0
for folder in sorted(Path(sys.argv[1]).iterdir()):
    dmap = read_map(folder / "map.mrc")
    volume, _ = prepare(dmap.data, dmap.voxel_size, 2.0, saved["config"]["normalization"])
    pad = [(0, -n % TILE) for n in volume.shape]
    volume = np.pad(volume, pad, mode="reflect")
    with torch.no_grad():
        for z in range(0, volume.shape[0], TILE):
            for y in range(0, volume.shape[1], TILE):
                for x in range(0, volume.shape[2], TILE):
                    t = volume[z:z + TILE, y:y + TILE, x:x + TILE]
                    net(torch.from_numpy(np.ascontiguousarray(t))[None, None])
                    tiles += 1
    print(folder.name, volume.shape, flush=True)
print(f"{tiles} tiles")
out = Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
config = {**saved["config"], "description": "shipped weights, BatchNorm statistics from whole "
                                            f"real maps ({sys.argv[1]})"}
torch.save({"model": net.state_dict(), "step": 0, "score": None, "config": config},
           out / "best.pt")
print(finish(out))
