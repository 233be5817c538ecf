"""Detector training stage: data module, nets, Lightning module, ONNX export (EX-047, EX-051).

Heavy dependencies (torch, lightning, mlflow, albumentations) are imported by the submodules
only; ``import veilleur.training`` stays cheap.
"""
