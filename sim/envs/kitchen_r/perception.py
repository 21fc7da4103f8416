"""Keypoints from a simulated RGB-D camera, computed the way a real pipeline would.

One depth render and one segmentation render from a named camera; each keypoint's
pixels (those showing a geom of its geom set) are back-projected with open3d and
averaged in the world frame. Occluded or out-of-view keypoints come back as NaN.
Segmentation stands in for a perfect instance segmenter; nothing else is read
from simulator state except the camera pose (a real robot knows its head pose).
"""

from __future__ import annotations

import mujoco
import numpy as np
import open3d as o3d

from sim.envs.kitchen_r import catalog as C

MIN_PIXELS = 5  # fewer visible pixels than this -> NaN (a handful is too noisy to trust)
HANDLE_RADIUS = 0.06  # geoms of a fixture's handle body centred this close to its handle site
OUTLIER_FACTOR = 3.0  # drop points farther than this × the median distance from the median
OUTLIER_FLOOR = 0.01  # m; never cut tighter than this (a flat patch has a tiny median distance)
_GEOM = int(mujoco.mjtObj.mjOBJ_GEOM)  # plain int: comparing an array to the pybind enum is elementwise Python


def keypoint_geoms(model: mujoco.MjModel, name: str, data: mujoco.MjData | None = None) -> np.ndarray:
    """(G,) int geom ids whose pixels count for keypoint ``name``.

    Objects/receptacles: every geom of the body of that name. ``<fixture>_handle``:
    geoms of the handle site's body centred within HANDLE_RADIUS of the site (the
    handle bar, not the whole door), else the nearest visible geom. Surfaces: ``<name>_top``.
    ``data`` must hold mj_forward'ed positions (only used for handles).
    """
    if name.endswith("_handle") and name[: -len("_handle")] in C.FIXTURE_BY_NAME:
        if data is None:
            raise ValueError("handle keypoints need a forwarded MjData")
        site = model.site(C.FIXTURE_BY_NAME[name[: -len("_handle")]].handle_site)
        geoms = np.flatnonzero(model.geom_bodyid == site.bodyid[0])
        dist = np.linalg.norm(data.geom_xpos[geoms] - data.site_xpos[site.id], axis=1)
        near = geoms[dist <= HANDLE_RADIUS]
        if near.size:
            return near
        # fall back to the nearest geom the default scene options actually draw (groups 0-2)
        shown = model.geom_group[geoms] < 3
        pool, pdist = (geoms[shown], dist[shown]) if shown.any() else (geoms, dist)
        return pool[[int(np.argmin(pdist))]] if pool.size else pool
    if name in C.SURFACE_BY_NAME:
        return np.array([model.geom(f"{name}_top").id])
    return np.flatnonzero(model.geom_bodyid == model.body(name).id)


class DepthKeypointer:
    """Named 3D keypoints from depth + segmentation of one camera.

    ``DepthKeypointer(model, "head", 224, names)(data)`` -> (K, 3) float64 world-frame
    centroids, NaN where fewer than MIN_PIXELS pixels of the keypoint are visible.
    After a call, ``last_depth`` (H, W) float32 metres (planar z, as a depth camera
    reports), ``last_seg`` (H, W, 2) int32 [objid, objtype] (-1 = background),
    ``last_labels`` (H, W) int keypoint index per pixel (-1 = none) and
    ``last_counts`` (K,) visible pixels per keypoint are kept for debugging.
    """

    # OpenCV/open3d camera axes expressed in MuJoCo camera axes: MuJoCo looks down -z
    # with +y up, OpenCV looks down +z with +y down (image rows grow downwards).
    CV_FROM_MJ = np.diag([1.0, -1.0, -1.0])

    def __init__(self, model: mujoco.MjModel, camera: str, size: int, names: tuple[str, ...]):
        self.model = model
        self.camera = camera
        self.cam_id = model.camera(camera).id
        self.size = int(size)
        self.names = tuple(names)
        # geom sets are fixed at build time; handle geoms picked from the initial pose
        d0 = mujoco.MjData(model)
        mujoco.mj_forward(model, d0)
        self.geom_sets = [keypoint_geoms(model, n, d0) for n in self.names]
        # geom id -> keypoint index lookup, so labelling a frame is one gather
        self._lut = np.full(model.ngeom, -1, dtype=np.int64)
        for k, geoms in enumerate(self.geom_sets):
            clash = geoms[self._lut[geoms] >= 0]
            if clash.size:
                other = self.names[int(self._lut[clash[0]])]
                raise ValueError(f"geom {clash[0]} belongs to keypoints {other!r} and {self.names[k]!r}")
            self._lut[geoms] = k

        # pinhole intrinsics from MuJoCo's vertical fovy; square pixels; pixel centres at
        # integer coordinates, so the principal point is (size - 1) / 2
        f = 0.5 * self.size / np.tan(np.deg2rad(model.cam_fovy[self.cam_id]) / 2)
        c = (self.size - 1) / 2
        self.intrinsic = o3d.camera.PinholeCameraIntrinsic(self.size, self.size, f, f, c, c)

        # only real surfaces: no sites/markers that a depth camera could not see
        self._opt = mujoco.MjvOption()
        self._opt.sitegroup[:] = 0
        self._renderer = mujoco.Renderer(model, self.size, self.size)
        self.last_depth: np.ndarray | None = None
        self.last_seg: np.ndarray | None = None
        self.last_labels: np.ndarray | None = None
        self.last_counts: np.ndarray = np.zeros(len(self.names), dtype=np.int64)

    def extrinsic(self, data: mujoco.MjData) -> np.ndarray:
        """(4, 4) world -> OpenCV-camera transform (open3d's ``extrinsic`` convention)."""
        r_world_cv = data.cam_xmat[self.cam_id].reshape(3, 3) @ self.CV_FROM_MJ
        t = np.eye(4)
        t[:3, :3] = r_world_cv.T
        t[:3, 3] = -r_world_cv.T @ data.cam_xpos[self.cam_id]
        return t

    def render(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """(H, W) float32 depth [m] and (H, W, 2) int32 segmentation of the same scene."""
        r = self._renderer
        r.update_scene(data, camera=self.cam_id, scene_option=self._opt)
        r.enable_depth_rendering()
        depth = r.render()
        r.enable_segmentation_rendering()  # same scene, so seg and depth agree pixel for pixel
        seg = r.render()
        r.disable_segmentation_rendering()
        return depth, seg

    def __call__(self, data: mujoco.MjData) -> np.ndarray:
        """(K, 3) float64 world-frame keypoints; NaN rows are not visible."""
        depth, seg = self.render(data)
        self.last_depth, self.last_seg = depth, seg
        out = np.full((len(self.names), 3), np.nan)

        ids = seg[..., 0].reshape(-1)
        is_geom = (seg[..., 1].reshape(-1) == _GEOM) & (ids >= 0)
        labels = np.full(ids.shape, -1, dtype=np.int64)
        labels[is_geom] = self._lut[ids[is_geom]]
        self.last_labels = labels.reshape(seg.shape[:2])
        counts = np.bincount(labels[labels >= 0], minlength=len(self.names))
        self.last_counts = counts
        if not (counts >= MIN_PIXELS).any():
            return out

        # one open3d call for the whole image; project_valid_depth_only=False keeps one
        # point per pixel in row-major order, so pixel labels index the cloud directly
        pcd = o3d.geometry.PointCloud.create_from_depth_image(
            o3d.geometry.Image(np.ascontiguousarray(depth)), self.intrinsic, self.extrinsic(data),
            depth_scale=1.0, depth_trunc=np.inf, stride=1, project_valid_depth_only=False)
        pts = np.asarray(pcd.points)

        # group pixels by keypoint with one sort instead of K boolean masks
        px = np.flatnonzero(labels >= 0)
        px = px[np.argsort(labels[px], kind="stable")]
        bounds = np.concatenate([[0], np.cumsum(counts)])
        for k in np.flatnonzero(counts >= MIN_PIXELS):
            p = pts[px[bounds[k]:bounds[k + 1]]]
            p = p[np.isfinite(p).all(axis=1)]
            if len(p) < MIN_PIXELS:
                continue
            # cheap robust filter: stray pixels (e.g. through a gap, far behind) sit far
            # from the median; a plain mean would follow them
            med = np.median(p, axis=0)
            r = np.linalg.norm(p - med, axis=1)
            p = p[r <= max(OUTLIER_FACTOR * float(np.median(r)), OUTLIER_FLOOR)]
            if len(p) >= MIN_PIXELS:
                out[k] = p.mean(axis=0)
        return out

    def close(self) -> None:
        self._renderer.close()


__all__ = ["DepthKeypointer", "keypoint_geoms", "MIN_PIXELS"]
