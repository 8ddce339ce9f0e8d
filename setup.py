from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open('mmkd/version.py') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def read_requirements(path):
    with open(path) as f:
        return [
            line.strip() for line in f
            if line.strip() and not line.startswith('#')
        ]


setup(
    name='mmkd',
    version=read_version(),
    description='Knowledge distillation for two-stage object detectors '
    '(Chen et al., NIPS 2017) on MMDetection 3',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    python_requires='>=3.10',
    install_requires=read_requirements('requirements/runtime.txt'),
    extras_require=dict(
        tests=read_requirements('requirements/tests.txt'),
        optional=read_requirements('requirements/optional.txt'),
        build=read_requirements('requirements/build.txt')),
    license='Apache License 2.0',
    zip_safe=False)
