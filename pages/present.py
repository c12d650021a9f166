"""Presenter mode: the Demo's story one step per screen, in large type, with Back and Next."""

import streamlit as st

from engine.demo import find_demo_run
from engine.sample import sample_folder
from ui import cache, session
from ui.downloads import render_sample_download
from ui.errors import guard
from ui.presenter import Story, render_navigation, start_requested_training, steps, use_large_type
from ui.setup import page_setup

story_steps = steps()
index = min(session.present_step(), len(story_steps) - 1)
title, draw = story_steps[index]
settings = page_setup(title)
use_large_type()
render_navigation(len(story_steps))

data_dir = sample_folder(settings)
if data_dir is None:
    st.info("The story runs on the sample photos, which are not here yet.")
    render_sample_download(settings, key="present")
    st.stop()

store = cache.get_run_store(settings.runs_dir)
with guard():
    demo = find_demo_run(store, data_dir)
    story = Story(
        settings=settings,
        data_dir=data_dir,
        dataset=cache.scan(data_dir, settings),
        run=store.load(demo.run_id) if demo else None,
        store=store,
        manager=cache.get_job_manager(settings),
    )
start_requested_training(story)
draw(story)
