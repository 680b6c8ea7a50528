//! Choosing where tensors live: burn's Flex backend on the CPU, or wgpu (Vulkan, Metal, DX12,
//! WebGPU). The one place cotlab turns a user's `--device` / `--dtype` into burn values.

use burn::tensor::{Device, FloatDType};

use crate::error::{CoreError, Result};

pub use burn::tensor::Device as BurnDevice;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// A GPU adapter if the machine has one, else the CPU.
    Auto,
    /// burn's Flex backend (pure Rust).
    Cpu,
    /// wgpu on whichever graphics API the machine offers (software adapters included).
    Wgpu,
    Vulkan,
    Metal,
    Dx12,
    /// The N-th discrete GPU (`gpu:N`), for running several jobs on a multi-GPU machine.
    Gpu(usize),
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "auto" => Self::Auto,
            "cpu" | "flex" => Self::Cpu,
            "wgpu" | "gpu" => Self::Wgpu,
            "vulkan" => Self::Vulkan,
            "metal" => Self::Metal,
            "dx12" => Self::Dx12,
            other => match other.strip_prefix("gpu:").or(other.strip_prefix("wgpu:")).map(str::parse) {
                Some(Ok(n)) => Self::Gpu(n),
                _ => return Err(format!("unknown device {s:?}: use auto, cpu, wgpu, vulkan, metal, dx12 or gpu:N")),
            },
        })
    }
}

/// Compute dtype choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DTypeChoice {
    F32,
    F16,
}

impl DTypeChoice {
    pub fn float(self) -> FloatDType {
        match self {
            Self::F32 => FloatDType::F32,
            Self::F16 => FloatDType::F16,
        }
    }
    pub fn bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 => 2,
        }
    }
}

impl std::str::FromStr for DTypeChoice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "float32" => Ok(Self::F32),
            "f16" | "float16" | "half" => Ok(Self::F16),
            _ => Err(format!("unknown dtype {s:?}: use f32 or f16")),
        }
    }
}

/// A device and a sentence saying what it is (printed so users know what ran).
#[derive(Debug, Clone)]
pub struct SelectedDevice {
    pub device: Device,
    pub description: String,
    pub is_gpu: bool,
    /// The largest buffer the device allows (bytes); `None` on the CPU. Larger matrices (the
    /// vocabulary projection) are split to fit.
    pub max_buffer_bytes: Option<u64>,
}

impl SelectedDevice {
    pub fn cpu() -> Self {
        Self { device: Device::flex(), description: "cpu (burn Flex backend)".into(), is_gpu: false, max_buffer_bytes: None }
    }

    /// Error unless `dtype` runs on this device.
    pub fn check_dtype(&self, dtype: DTypeChoice) -> Result<()> {
        if self.device.supports_dtype(dtype.float()) {
            Ok(())
        } else {
            Err(CoreError::Device {
                device: self.description.clone(),
                reason: format!("it cannot compute in {dtype:?}; use --dtype f32 (or a GPU with shader-f16)"),
            })
        }
    }
}

#[cfg(not(target_family = "wasm"))]
mod native {
    use std::sync::{Mutex, OnceLock};

    use burn::tensor::wgpu::{wgpu, WgpuBackend};
    use burn::tensor::Device;

    use super::*;

    /// One adapter as wgpu reports it.
    #[derive(Debug, Clone)]
    pub struct AdapterInfo {
        pub name: String,
        pub backend: String,
        pub kind: String,
        pub is_gpu: bool,
        /// min(maxBufferSize, maxStorageBufferBindingSize).
        pub max_buffer_bytes: u64,
    }

    /// Every adapter wgpu can see on this machine.
    pub fn list_adapters() -> Vec<AdapterInfo> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY))
            .into_iter()
            .map(|a| {
                let info = a.get_info();
                let limits = a.limits();
                AdapterInfo {
                    max_buffer_bytes: limits.max_buffer_size.min(limits.max_storage_buffer_binding_size),
                    name: info.name.clone(),
                    backend: format!("{:?}", info.backend),
                    kind: format!("{:?}", info.device_type),
                    is_gpu: matches!(
                        info.device_type,
                        wgpu::DeviceType::DiscreteGpu | wgpu::DeviceType::IntegratedGpu | wgpu::DeviceType::VirtualGpu
                    ),
                }
            })
            .collect()
    }

    fn api_of(choice: DeviceChoice) -> WgpuBackend {
        match choice {
            DeviceChoice::Vulkan => WgpuBackend::Vulkan,
            DeviceChoice::Metal => WgpuBackend::Metal,
            DeviceChoice::Dx12 => WgpuBackend::Dx12,
            _ => WgpuBackend::Auto,
        }
    }

    /// burn's wgpu runtime can be initialised once per process and API; remember the outcome.
    fn init_wgpu(choice: DeviceChoice) -> std::result::Result<Device, String> {
        static INITIALISED: OnceLock<Mutex<Vec<(DeviceChoice, std::result::Result<Device, String>)>>> = OnceLock::new();
        let mut done = INITIALISED.get_or_init(Default::default).lock().expect("device registry");
        if let Some((_, r)) = done.iter().find(|(c, _)| *c == choice) {
            return r.clone();
        }
        let mut options = Device::wgpu_options().graphics_api(api_of(choice));
        if let DeviceChoice::Gpu(n) = choice {
            options = options.device_kind(burn::tensor::DeviceKind::DiscreteGpu(n));
        }
        let r = options.init().map_err(|e| e.to_string());
        done.push((choice, r.clone()));
        r
    }

    /// Resolve a choice to a device, saying which one was picked.
    pub fn select_device(choice: DeviceChoice) -> Result<SelectedDevice> {
        if choice == DeviceChoice::Cpu {
            return Ok(SelectedDevice::cpu());
        }
        let adapters = list_adapters();
        if choice == DeviceChoice::Auto {
            match adapters.iter().find(|a| a.is_gpu) {
                Some(_) => {}
                None => {
                    let mut cpu = SelectedDevice::cpu();
                    cpu.description.push_str(if adapters.is_empty() {
                        "; no wgpu adapter found"
                    } else {
                        "; only software wgpu adapters found (use --device wgpu to run on them)"
                    });
                    return Ok(cpu);
                }
            }
        }
        let wanted = match choice {
            DeviceChoice::Vulkan => Some("Vulkan"),
            DeviceChoice::Metal => Some("Metal"),
            DeviceChoice::Dx12 => Some("Dx12"),
            _ => None,
        };
        let candidates: Vec<&AdapterInfo> =
            adapters.iter().filter(|a| wanted.is_none_or(|w| a.backend == w)).collect();
        let chosen = match choice {
            DeviceChoice::Gpu(n) => candidates.iter().filter(|a| a.kind == "DiscreteGpu").nth(n),
            _ => candidates.iter().find(|a| a.is_gpu).or(candidates.first()),
        };
        let described = chosen.map(|a| {
            format!("{} ({}, {}, largest buffer {} MiB)", a.name, a.backend, a.kind, a.max_buffer_bytes >> 20)
        });
        let max_buffer_bytes = chosen.map(|a| a.max_buffer_bytes);
        let name = match choice {
            DeviceChoice::Gpu(n) => format!("gpu:{n}"),
            _ => format!("{choice:?}").to_lowercase(),
        };
        let Some(described) = described else {
            return Err(CoreError::Device {
                device: name,
                reason: "wgpu finds no adapter for it. Install the GPU's Vulkan/Metal/DX12 driver (on Linux without a GPU, `apt-get install mesa-vulkan-drivers` gives a software Vulkan adapter), or use --device cpu".into(),
            });
        };
        let device = init_wgpu(choice).map_err(|reason| CoreError::Device { device: name, reason })?;
        let is_gpu = candidates.iter().any(|a| a.is_gpu);
        Ok(SelectedDevice { device, description: format!("wgpu: {described}"), is_gpu, max_buffer_bytes })
    }
}

#[cfg(not(target_family = "wasm"))]
pub use native::{list_adapters, select_device, AdapterInfo};

/// What a wgpu adapter initialised with [`select_wgpu_async`] offers; the browser page shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuLimits {
    pub adapter: String,
    /// `BrowserWebGpu` in a browser; Vulkan/Metal/Dx12 natively.
    pub backend: String,
    /// WebGPU's `maxStorageBufferBindingSize` as granted to the device (the adapter's own limit:
    /// cubecl requests the adapter's limits, not WebGPU's 128 MiB default).
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    /// Whether `shader-f16` is enabled, i.e. whether f16 compute is possible.
    pub shader_f16: bool,
}

/// Initialise wgpu asynchronously, as a browser must (WebGPU's adapter and device requests are
/// promises). The device gets the adapter's limits; its largest usable buffer,
/// min(maxBufferSize, maxStorageBufferBindingSize), becomes `max_buffer_bytes` so vocabulary
/// matrices are split to fit it.
pub async fn select_wgpu_async() -> Result<(SelectedDevice, GpuLimits)> {
    use burn::tensor::wgpu::wgpu;
    let (device, setup) = Device::wgpu_options().init_with_setup_async().await.map_err(|e| CoreError::Device {
        device: "webgpu".into(),
        reason: format!(
            "{e}. Use a browser with WebGPU enabled (Chrome/Edge 113+, Firefox 141+, Safari 26+), or choose the CPU backend"
        ),
    })?;
    let info = setup.adapter.get_info();
    let limits = setup.device.limits();
    let gpu = GpuLimits {
        adapter: if info.name.is_empty() { format!("{:?}", info.device_type) } else { info.name.clone() },
        backend: format!("{:?}", info.backend),
        max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
        max_buffer_size: limits.max_buffer_size,
        shader_f16: setup.device.features().contains(wgpu::Features::SHADER_F16),
    };
    let max = limits.max_buffer_size.min(limits.max_storage_buffer_binding_size);
    let selected = SelectedDevice {
        device,
        description: format!("wgpu: {} ({}, largest buffer {} MiB)", gpu.adapter, gpu.backend, max >> 20),
        is_gpu: true,
        max_buffer_bytes: Some(max),
    };
    Ok((selected, gpu))
}
