#!/usr/bin/python3
"""Writes data/gan/students.json (the shipped students, read by the app, the demo and the quality test)
from the pipeline's eval-*.json files. Usage: gan-students.py DATA_GAN_DIR"""
import json
import os
import sys

d = sys.argv[1]
load = lambda name: json.load(open(os.path.join(d, name)))
teacher = load("eval-teacher.json")
teacher["fid_like_test2k"] = load("eval-teacher-2k.json")["fid_like"]
teacher["file"] = "teacher.safetensors"
out = {"split": "test (10,000 images)", "teacher": teacher, "students": []}
for x in (10, 20):
    s = load(f"eval-{x}x.json")
    before = load(f"eval-{x}x-supernet.json")
    s["fid_like_test2k"] = load(f"eval-{x}x-2k.json")["fid_like"]
    s.update(name=f"{x}x", file=f"student-{x}x.safetensors", budget_reduction=x,
             macs_reduction=teacher["macs"] / s["macs"], fid_like_before_finetune=before["fid_like"])
    out["students"].append(s)
tmp = os.path.join(d, "students.json.tmp")
with open(tmp, "w") as f:
    json.dump(out, f, indent=2)
os.replace(tmp, os.path.join(d, "students.json"))
