"""Work that MMEngine's configs redo for every config and every checkpoint,
done once per process: used by conftest.py (the test process) and by
test_tools/train_driver.py (before it forks its training runs)."""
import functools


def cache_mmengine_config_work() -> None:
    """Keep, for the whole process, what MMEngine's ``Config`` recomputes
    from inputs that do not change while the tests run.

    - For every ``mmpretrain::`` / ``mmseg::`` base of a config,
      ``Config.fromfile`` asks whether the package is installed (MMEngine's
      ``is_installed`` reloads ``pkg_resources`` for that) and looks the
      name up in all metafiles of the package (some 250 YAML files) before
      it falls back to the base-config folder: about a second per config.
      The answers and the parsed files are kept.
    - ``Config.pretty_text`` formats the config's text with yapf (a third
      of a second) for the log, the dumped config and every checkpoint a
      run saves; the formatted text of a text is kept.

    The lookups and the formatting themselves are MMEngine's and yapf's.
    """
    from mmengine.config import config, utils
    if getattr(utils.load, 'cached_metafiles', False):
        return
    load, parsed = utils.load, {}

    def cached_load(file, *args, **kwargs):
        if args or kwargs or not isinstance(file, str) or \
                not file.endswith(('.yml', '.yaml')):
            return load(file, *args, **kwargs)
        if file not in parsed:
            parsed[file] = load(file)
        return parsed[file]

    cached_load.cached_metafiles = True
    utils.load = cached_load
    config.is_installed = functools.lru_cache(maxsize=None)(
        config.is_installed)

    format_code = config.FormatCode

    @functools.lru_cache(maxsize=256)
    def formatted(text, style):
        return format_code(text, style_config=dict(style))

    def cached_format_code(text, style_config=None, **kwargs):
        if kwargs or not isinstance(style_config, dict):
            return format_code(text, style_config=style_config, **kwargs)
        return formatted(text, tuple(sorted(style_config.items())))

    config.FormatCode = cached_format_code
