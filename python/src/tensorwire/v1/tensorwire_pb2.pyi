from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DTYPE_UNSPECIFIED: _ClassVar[DType]
    DTYPE_BOOL: _ClassVar[DType]
    DTYPE_UINT8: _ClassVar[DType]
    DTYPE_INT8: _ClassVar[DType]
    DTYPE_UINT16: _ClassVar[DType]
    DTYPE_INT16: _ClassVar[DType]
    DTYPE_UINT32: _ClassVar[DType]
    DTYPE_INT32: _ClassVar[DType]
    DTYPE_UINT64: _ClassVar[DType]
    DTYPE_INT64: _ClassVar[DType]
    DTYPE_FLOAT16: _ClassVar[DType]
    DTYPE_BFLOAT16: _ClassVar[DType]
    DTYPE_FLOAT32: _ClassVar[DType]
    DTYPE_FLOAT64: _ClassVar[DType]
    DTYPE_COMPLEX64: _ClassVar[DType]
    DTYPE_COMPLEX128: _ClassVar[DType]

class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODE_REFLECT: _ClassVar[Mode]
    MODE_CONSTANT: _ClassVar[Mode]
    MODE_NEAREST: _ClassVar[Mode]
    MODE_MIRROR: _ClassVar[Mode]
    MODE_WRAP: _ClassVar[Mode]
    MODE_GRID_CONSTANT: _ClassVar[Mode]
    MODE_GRID_MIRROR: _ClassVar[Mode]
    MODE_GRID_WRAP: _ClassVar[Mode]

class KernelExp(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KERNEL_EXP_LIBM: _ClassVar[KernelExp]
    KERNEL_EXP_NUMPY_AVX512: _ClassVar[KernelExp]
DTYPE_UNSPECIFIED: DType
DTYPE_BOOL: DType
DTYPE_UINT8: DType
DTYPE_INT8: DType
DTYPE_UINT16: DType
DTYPE_INT16: DType
DTYPE_UINT32: DType
DTYPE_INT32: DType
DTYPE_UINT64: DType
DTYPE_INT64: DType
DTYPE_FLOAT16: DType
DTYPE_BFLOAT16: DType
DTYPE_FLOAT32: DType
DTYPE_FLOAT64: DType
DTYPE_COMPLEX64: DType
DTYPE_COMPLEX128: DType
MODE_REFLECT: Mode
MODE_CONSTANT: Mode
MODE_NEAREST: Mode
MODE_MIRROR: Mode
MODE_WRAP: Mode
MODE_GRID_CONSTANT: Mode
MODE_GRID_MIRROR: Mode
MODE_GRID_WRAP: Mode
KERNEL_EXP_LIBM: KernelExp
KERNEL_EXP_NUMPY_AVX512: KernelExp

class Tensor(_message.Message):
    __slots__ = ("dtype", "shape", "data")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    dtype: DType
    shape: _containers.RepeatedScalarFieldContainer[int]
    data: bytes
    def __init__(self, dtype: _Optional[_Union[DType, str]] = ..., shape: _Optional[_Iterable[int]] = ..., data: _Optional[bytes] = ...) -> None: ...

class TensorHeader(_message.Message):
    __slots__ = ("dtype", "shape")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    dtype: DType
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, dtype: _Optional[_Union[DType, str]] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class TensorChunk(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: TensorHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[TensorHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class TensorInfo(_message.Message):
    __slots__ = ("dtype", "shape", "nbytes", "size", "dtype_name", "min", "max", "mean")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    NBYTES_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_NAME_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    dtype: DType
    shape: _containers.RepeatedScalarFieldContainer[int]
    nbytes: int
    size: int
    dtype_name: str
    min: float
    max: float
    mean: float
    def __init__(self, dtype: _Optional[_Union[DType, str]] = ..., shape: _Optional[_Iterable[int]] = ..., nbytes: _Optional[int] = ..., size: _Optional[int] = ..., dtype_name: _Optional[str] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., mean: _Optional[float] = ...) -> None: ...

class Kernel1D(_message.Message):
    __slots__ = ("weights",)
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    weights: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, weights: _Optional[_Iterable[float]] = ...) -> None: ...

class GaussianParams(_message.Message):
    __slots__ = ("sigma", "order", "mode", "cval", "truncate", "radius", "axes", "cval_imag", "output_dtype", "exp", "kernels")
    SIGMA_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    CVAL_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_FIELD_NUMBER: _ClassVar[int]
    RADIUS_FIELD_NUMBER: _ClassVar[int]
    AXES_FIELD_NUMBER: _ClassVar[int]
    CVAL_IMAG_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DTYPE_FIELD_NUMBER: _ClassVar[int]
    EXP_FIELD_NUMBER: _ClassVar[int]
    KERNELS_FIELD_NUMBER: _ClassVar[int]
    sigma: _containers.RepeatedScalarFieldContainer[float]
    order: _containers.RepeatedScalarFieldContainer[int]
    mode: _containers.RepeatedScalarFieldContainer[Mode]
    cval: float
    truncate: float
    radius: _containers.RepeatedScalarFieldContainer[int]
    axes: _containers.RepeatedScalarFieldContainer[int]
    cval_imag: float
    output_dtype: DType
    exp: KernelExp
    kernels: _containers.RepeatedCompositeFieldContainer[Kernel1D]
    def __init__(self, sigma: _Optional[_Iterable[float]] = ..., order: _Optional[_Iterable[int]] = ..., mode: _Optional[_Iterable[_Union[Mode, str]]] = ..., cval: _Optional[float] = ..., truncate: _Optional[float] = ..., radius: _Optional[_Iterable[int]] = ..., axes: _Optional[_Iterable[int]] = ..., cval_imag: _Optional[float] = ..., output_dtype: _Optional[_Union[DType, str]] = ..., exp: _Optional[_Union[KernelExp, str]] = ..., kernels: _Optional[_Iterable[_Union[Kernel1D, _Mapping]]] = ...) -> None: ...

class GaussianFilter1dParams(_message.Message):
    __slots__ = ("sigma", "axis", "order", "mode", "cval", "truncate", "radius", "cval_imag", "output_dtype", "exp", "kernel")
    SIGMA_FIELD_NUMBER: _ClassVar[int]
    AXIS_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    CVAL_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_FIELD_NUMBER: _ClassVar[int]
    RADIUS_FIELD_NUMBER: _ClassVar[int]
    CVAL_IMAG_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DTYPE_FIELD_NUMBER: _ClassVar[int]
    EXP_FIELD_NUMBER: _ClassVar[int]
    KERNEL_FIELD_NUMBER: _ClassVar[int]
    sigma: float
    axis: int
    order: int
    mode: Mode
    cval: float
    truncate: float
    radius: int
    cval_imag: float
    output_dtype: DType
    exp: KernelExp
    kernel: Kernel1D
    def __init__(self, sigma: _Optional[float] = ..., axis: _Optional[int] = ..., order: _Optional[int] = ..., mode: _Optional[_Union[Mode, str]] = ..., cval: _Optional[float] = ..., truncate: _Optional[float] = ..., radius: _Optional[int] = ..., cval_imag: _Optional[float] = ..., output_dtype: _Optional[_Union[DType, str]] = ..., exp: _Optional[_Union[KernelExp, str]] = ..., kernel: _Optional[_Union[Kernel1D, _Mapping]] = ...) -> None: ...

class GaussianDerivativeSumParams(_message.Message):
    __slots__ = ("sigma", "mode", "cval", "truncate", "radius", "axes", "cval_imag", "output_dtype", "exp", "kernels")
    SIGMA_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    CVAL_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_FIELD_NUMBER: _ClassVar[int]
    RADIUS_FIELD_NUMBER: _ClassVar[int]
    AXES_FIELD_NUMBER: _ClassVar[int]
    CVAL_IMAG_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DTYPE_FIELD_NUMBER: _ClassVar[int]
    EXP_FIELD_NUMBER: _ClassVar[int]
    KERNELS_FIELD_NUMBER: _ClassVar[int]
    sigma: _containers.RepeatedScalarFieldContainer[float]
    mode: _containers.RepeatedScalarFieldContainer[Mode]
    cval: float
    truncate: float
    radius: _containers.RepeatedScalarFieldContainer[int]
    axes: _containers.RepeatedScalarFieldContainer[int]
    cval_imag: float
    output_dtype: DType
    exp: KernelExp
    kernels: _containers.RepeatedCompositeFieldContainer[Kernel1D]
    def __init__(self, sigma: _Optional[_Iterable[float]] = ..., mode: _Optional[_Iterable[_Union[Mode, str]]] = ..., cval: _Optional[float] = ..., truncate: _Optional[float] = ..., radius: _Optional[_Iterable[int]] = ..., axes: _Optional[_Iterable[int]] = ..., cval_imag: _Optional[float] = ..., output_dtype: _Optional[_Union[DType, str]] = ..., exp: _Optional[_Union[KernelExp, str]] = ..., kernels: _Optional[_Iterable[_Union[Kernel1D, _Mapping]]] = ...) -> None: ...

class OpParams(_message.Message):
    __slots__ = ("gaussian_filter", "gaussian_filter1d", "gaussian_laplace", "gaussian_gradient_magnitude")
    GAUSSIAN_FILTER_FIELD_NUMBER: _ClassVar[int]
    GAUSSIAN_FILTER1D_FIELD_NUMBER: _ClassVar[int]
    GAUSSIAN_LAPLACE_FIELD_NUMBER: _ClassVar[int]
    GAUSSIAN_GRADIENT_MAGNITUDE_FIELD_NUMBER: _ClassVar[int]
    gaussian_filter: GaussianParams
    gaussian_filter1d: GaussianFilter1dParams
    gaussian_laplace: GaussianDerivativeSumParams
    gaussian_gradient_magnitude: GaussianDerivativeSumParams
    def __init__(self, gaussian_filter: _Optional[_Union[GaussianParams, _Mapping]] = ..., gaussian_filter1d: _Optional[_Union[GaussianFilter1dParams, _Mapping]] = ..., gaussian_laplace: _Optional[_Union[GaussianDerivativeSumParams, _Mapping]] = ..., gaussian_gradient_magnitude: _Optional[_Union[GaussianDerivativeSumParams, _Mapping]] = ...) -> None: ...

class ApplyRequest(_message.Message):
    __slots__ = ("tensor", "params", "input_id")
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    INPUT_ID_FIELD_NUMBER: _ClassVar[int]
    tensor: Tensor
    params: OpParams
    input_id: str
    def __init__(self, tensor: _Optional[_Union[Tensor, _Mapping]] = ..., params: _Optional[_Union[OpParams, _Mapping]] = ..., input_id: _Optional[str] = ...) -> None: ...

class ApplyStart(_message.Message):
    __slots__ = ("header", "params", "input_id")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    INPUT_ID_FIELD_NUMBER: _ClassVar[int]
    header: TensorHeader
    params: OpParams
    input_id: str
    def __init__(self, header: _Optional[_Union[TensorHeader, _Mapping]] = ..., params: _Optional[_Union[OpParams, _Mapping]] = ..., input_id: _Optional[str] = ...) -> None: ...

class ApplyChunk(_message.Message):
    __slots__ = ("start", "data")
    START_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    start: ApplyStart
    data: bytes
    def __init__(self, start: _Optional[_Union[ApplyStart, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class GaussianFilterRequest(_message.Message):
    __slots__ = ("tensor", "params")
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    tensor: Tensor
    params: GaussianParams
    def __init__(self, tensor: _Optional[_Union[Tensor, _Mapping]] = ..., params: _Optional[_Union[GaussianParams, _Mapping]] = ...) -> None: ...

class GaussianFilterStart(_message.Message):
    __slots__ = ("header", "params")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    header: TensorHeader
    params: GaussianParams
    def __init__(self, header: _Optional[_Union[TensorHeader, _Mapping]] = ..., params: _Optional[_Union[GaussianParams, _Mapping]] = ...) -> None: ...

class GaussianFilterChunk(_message.Message):
    __slots__ = ("start", "data")
    START_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    start: GaussianFilterStart
    data: bytes
    def __init__(self, start: _Optional[_Union[GaussianFilterStart, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class ImageRequest(_message.Message):
    __slots__ = ("data", "filename")
    DATA_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    filename: str
    def __init__(self, data: _Optional[bytes] = ..., filename: _Optional[str] = ...) -> None: ...

class ImageChunk(_message.Message):
    __slots__ = ("data", "filename")
    DATA_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    filename: str
    def __init__(self, data: _Optional[bytes] = ..., filename: _Optional[str] = ...) -> None: ...

class ImageInfo(_message.Message):
    __slots__ = ("width", "height", "format", "color_type", "channels", "bit_depth")
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    COLOR_TYPE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    BIT_DEPTH_FIELD_NUMBER: _ClassVar[int]
    width: int
    height: int
    format: str
    color_type: str
    channels: int
    bit_depth: int
    def __init__(self, width: _Optional[int] = ..., height: _Optional[int] = ..., format: _Optional[str] = ..., color_type: _Optional[str] = ..., channels: _Optional[int] = ..., bit_depth: _Optional[int] = ...) -> None: ...

class StoredTensor(_message.Message):
    __slots__ = ("id", "dtype", "shape", "nbytes", "expires_in_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    NBYTES_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    dtype: DType
    shape: _containers.RepeatedScalarFieldContainer[int]
    nbytes: int
    expires_in_ms: int
    def __init__(self, id: _Optional[str] = ..., dtype: _Optional[_Union[DType, str]] = ..., shape: _Optional[_Iterable[int]] = ..., nbytes: _Optional[int] = ..., expires_in_ms: _Optional[int] = ...) -> None: ...

class TensorRef(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListTensorsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTensorsResponse(_message.Message):
    __slots__ = ("tensors",)
    TENSORS_FIELD_NUMBER: _ClassVar[int]
    tensors: _containers.RepeatedCompositeFieldContainer[StoredTensor]
    def __init__(self, tensors: _Optional[_Iterable[_Union[StoredTensor, _Mapping]]] = ...) -> None: ...
