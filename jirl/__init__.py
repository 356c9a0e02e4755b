from jirl.errors import ConfigError, DataError, EnvError, JirlError

__version__ = "0.1.0"

