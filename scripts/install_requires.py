"""Print setup.cfg's install_requires, one per line, for `pip install -r`.

The images install the dependencies in a layer of their own, built from setup.cfg alone,
so changing the code does not reinstall them.
"""

import configparser
import sys


def install_requires(path: str) -> list[str]:
    config = configparser.ConfigParser()
    config.read(path)
    lines = (
        line.split("#", 1)[0].strip() for line in config["options"]["install_requires"].splitlines()
    )
    return [line for line in lines if line]


if __name__ == "__main__":
    print("\n".join(install_requires(sys.argv[1] if len(sys.argv) > 1 else "setup.cfg")))
