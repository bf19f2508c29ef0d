"""Shape ops."""


def reshape(*args, **kwargs):
    raise NotImplementedError('STUB reshape')


def view(*args, **kwargs):
    raise NotImplementedError('STUB view')


def transpose(*args, **kwargs):
    raise NotImplementedError('STUB transpose')


def permute(*args, **kwargs):
    raise NotImplementedError('STUB permute')


def unsqueeze(*args, **kwargs):
    raise NotImplementedError('STUB unsqueeze')


def squeeze(*args, **kwargs):
    raise NotImplementedError('STUB squeeze')


def expand(*args, **kwargs):
    raise NotImplementedError('STUB expand')


def flatten(*args, **kwargs):
    raise NotImplementedError('STUB flatten')


def contiguous(*args, **kwargs):
    raise NotImplementedError('STUB contiguous')


def getitem(*args, **kwargs):
    raise NotImplementedError('STUB getitem')


def cat(*args, **kwargs):
    raise NotImplementedError('STUB cat')


def stack(*args, **kwargs):
    raise NotImplementedError('STUB stack')


def t(*args, **kwargs):
    raise NotImplementedError('STUB t')
